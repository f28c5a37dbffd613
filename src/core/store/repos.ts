import type { Entity, EntityTable, Stored, TableFactory } from '../ports/tables';
import { StaleEtagError } from '../ports/tables';
import type { Job, ProtectedItem, RecoveryPoint } from '../domain/model';
import type { Policy } from '../domain/policy';
import type { AlertRecord, DiscoveredVm, Lease, RequestRecord, SegmentRow, SlotClaim } from './records';
import { jobRowCodec, type RowCodec } from './job-row';

const DATE_KEYS = new Set([
  'discoveredAt',
  'createdAt',
  'startedAt',
  'endedAt',
  'lockExpiresAt',
  'lastBackupAt',
  'expiresAt',
  'deletedAt',
  'verifiedAt',
  'protectedAt',
  'immutableUntil',
  'claimUntil',
  'sentAt',
]);

/**
 * Table Storage caps a string property at 64 KiB, which is 32,768 UTF-16 characters; 30,000 leaves room for
 * the surrogate pairs JSON may hold. Two properties give a document about 60,000 characters.
 */
const DOC_SPLIT_CHARS = 30_000;
const MAX_DOC_CHARS = 2 * DOC_SPLIT_CHARS;

function revive(_k: string, v: unknown): unknown {
  return typeof v === 'string' && DATE_KEYS.has(_k) ? new Date(v) : v;
}

/**
 * A typed collection stored as one JSON document per row (split over two properties to stay under the
 * 64 KiB property limit), plus a few flat columns that queries filter on.
 */
export class DocumentCollection<T extends object> {
  constructor(
    readonly table: EntityTable,
    private readonly keyOf: (doc: T) => { partitionKey: string; rowKey: string },
    private readonly columns: (doc: T) => Record<string, string | number | boolean | Date | undefined> = () => ({}),
    private readonly codec?: RowCodec<T>,
  ) {}

  private toEntity(doc: T): Entity {
    const split = this.codec?.encode(doc);
    const json = JSON.stringify(split ? split.doc : doc);
    if (json.length > MAX_DOC_CHARS) throw new RangeError(`A ${this.table.name} row of ${json.length} characters exceeds the ${MAX_DOC_CHARS} two properties hold`);
    const half = DOC_SPLIT_CHARS;
    return {
      ...this.keyOf(doc),
      ...this.columns(doc),
      ...split?.columns,
      doc: json.slice(0, half),
      doc2: json.length > half ? json.slice(half) : '',
    };
  }

  private fromEntity(e: Entity): T {
    const doc = JSON.parse(String(e.doc ?? '') + String(e.doc2 ?? ''), revive);
    return this.codec ? this.codec.decode(doc, e) : (doc as T);
  }

  async get(partitionKey: string, rowKey: string): Promise<{ doc: T; etag: string } | undefined> {
    const s = await this.table.get<Entity>(partitionKey, rowKey);
    return s ? { doc: this.fromEntity(s.entity), etag: s.etag } : undefined;
  }

  async insert(doc: T): Promise<string> {
    return (await this.table.insert(this.toEntity(doc))).etag;
  }

  async replace(doc: T, etag: string): Promise<string> {
    return (await this.table.replace(this.toEntity(doc), etag)).etag;
  }

  async upsert(doc: T): Promise<void> {
    await this.table.upsert(this.toEntity(doc));
  }

  async delete(doc: T, etag?: string): Promise<void> {
    const k = this.keyOf(doc);
    await this.table.delete(k.partitionKey, k.rowKey, etag);
  }

  /** Read-modify-write with the ETag, retried on a lost race. `change` returns false to leave the row alone. */
  async update(partitionKey: string, rowKey: string, change: (doc: T) => boolean | void): Promise<T | undefined> {
    for (let attempt = 0; attempt < 50; attempt++) {
      const cur = await this.get(partitionKey, rowKey);
      if (!cur) return undefined;
      if (change(cur.doc) === false) return cur.doc;
      try {
        await this.replace(cur.doc, cur.etag);
        return cur.doc;
      } catch (err) {
        if (!(err instanceof StaleEtagError)) throw err;
        await new Promise((r) => setTimeout(r, Math.floor(Math.random() * 20 * (attempt + 1))));
      }
    }
    throw new StaleEtagError();
  }

  async list(partitionKey: string | undefined, options: Parameters<EntityTable['query']>[1] = {}): Promise<{ items: T[]; continuation?: string }> {
    const page = await this.table.query<Entity>(partitionKey, options);
    return { items: page.items.map((s: Stored<Entity>) => this.fromEntity(s.entity)), continuation: page.continuation };
  }

  async all(partitionKey: string | undefined, options: Omit<Parameters<EntityTable['query']>[1] & object, 'continuation' | 'top'> = {}): Promise<T[]> {
    const out: T[] = [];
    let continuation: string | undefined;
    do {
      const page = await this.list(partitionKey, { ...options, top: 1000, continuation });
      out.push(...page.items);
      continuation = page.continuation;
    } while (continuation);
    return out;
  }
}

/**
 * A collection whose rows all share one partition (items, jobs, policies...): callers name a row by its key
 * alone, so no service spells a partition key.
 */
export class KeyedCollection<T extends object> {
  constructor(
    private readonly docs: DocumentCollection<T>,
    private readonly partition: string,
  ) {}

  get table(): EntityTable {
    return this.docs.table;
  }

  get(key: string): Promise<{ doc: T; etag: string } | undefined> {
    return this.docs.get(this.partition, key);
  }

  /** The row, or `notFound()` thrown: the one way services say "no such thing". */
  async require(key: string, notFound: () => Error): Promise<{ doc: T; etag: string }> {
    const found = await this.get(key);
    if (!found) throw notFound();
    return found;
  }

  update(key: string, change: (doc: T) => boolean | void): Promise<T | undefined> {
    return this.docs.update(this.partition, key, change);
  }

  list(options: Parameters<EntityTable['query']>[1] = {}): Promise<{ items: T[]; continuation?: string }> {
    return this.docs.list(this.partition, options);
  }

  all(options: Omit<Parameters<EntityTable['query']>[1] & object, 'continuation' | 'top'> = {}): Promise<T[]> {
    return this.docs.all(this.partition, options);
  }

  insert(doc: T): Promise<string> {
    return this.docs.insert(doc);
  }

  replace(doc: T, etag: string): Promise<string> {
    return this.docs.replace(doc, etag);
  }

  upsert(doc: T): Promise<void> {
    return this.docs.upsert(doc);
  }

  delete(doc: T, etag?: string): Promise<void> {
    return this.docs.delete(doc, etag);
  }
}

export interface Repos {
  items: KeyedCollection<ProtectedItem>;
  jobs: KeyedCollection<Job>;
  points: DocumentCollection<RecoveryPoint>;
  policies: KeyedCollection<Policy>;
  segments: DocumentCollection<SegmentRow>;
  discovered: KeyedCollection<DiscoveredVm>;
  /** Idempotency keys of job-creating requests. */
  requests: KeyedCollection<RequestRecord>;
  /** Schedule slots claimed by a scheduled job (beside the idempotency keys, partition "slot"). */
  slotClaims: KeyedCollection<SlotClaim>;
  /** Short-lived named leases (discovery runs). */
  leases: KeyedCollection<Lease>;
  /** Alert events, one row each: raised once, delivered until the webhook takes them. */
  alerts: KeyedCollection<AlertRecord>;
  ensure(): Promise<void>;
}

/** The one partition of each single-partition table; nothing outside store/ names them. */
const PARTITIONS = { item: 'item', job: 'job', policy: 'policy', vm: 'vm', request: 'request', slot: 'slot', lease: 'lease', alert: 'alert' } as const;

function keyed<T extends object>(
  table: EntityTable,
  partition: string,
  rowKey: (doc: T) => string,
  columns?: (doc: T) => Record<string, string | number | boolean | Date | undefined>,
  codec?: RowCodec<T>,
): KeyedCollection<T> {
  return new KeyedCollection(new DocumentCollection<T>(table, (d) => ({ partitionKey: partition, rowKey: rowKey(d) }), columns, codec), partition);
}

export function createRepos(tables: TableFactory, prefix = 'vmb'): Repos {
  const t = (n: string): EntityTable => tables.table(`${prefix}${n}`);
  const repos: Repos = {
    items: keyed<ProtectedItem>(
      t('items'),
      PARTITIONS.item,
      (i) => i.itemKey,
      (i) => ({ state: i.state, policyName: i.policyName ?? '' }),
    ),
    jobs: keyed<Job>(
      t('jobs'),
      PARTITIONS.job,
      (j) => j.jobId,
      (j) => ({ type: j.type, status: j.status, itemKey: j.itemKey ?? '' }),
      jobRowCodec,
    ),
    points: new DocumentCollection<RecoveryPoint>(
      t('points'),
      (p) => ({ partitionKey: p.itemKey, rowKey: p.pointId }),
      (p) => ({ state: p.state }),
    ),
    policies: keyed<Policy>(t('policies'), PARTITIONS.policy, (p) => p.name),
    segments: new DocumentCollection<SegmentRow>(
      t('segments'),
      (s) => ({ partitionKey: s.jobId, rowKey: s.segmentKey }),
      (s) => ({ state: s.state }),
    ),
    discovered: keyed<DiscoveredVm>(t('vms'), PARTITIONS.vm, (v) => v.itemKey),
    requests: keyed<RequestRecord>(t('requests'), PARTITIONS.request, (r) => r.keyHash),
    slotClaims: keyed<SlotClaim>(t('requests'), PARTITIONS.slot, (c) => c.claimKey),
    leases: keyed<Lease>(t('leases'), PARTITIONS.lease, (l) => l.name),
    alerts: keyed<AlertRecord>(
      t('alerts'),
      PARTITIONS.alert,
      (a) => a.eventKey,
      (a) => ({ state: a.state, type: a.type, open: !!a.open }),
    ),
    async ensure() {
      const all = [repos.items, repos.jobs, repos.points, repos.policies, repos.segments, repos.discovered, repos.requests, repos.leases, repos.alerts];
      await Promise.all(all.map((c) => c.table.ensure()));
    },
  };
  return repos;
}
