import type { Entity, EntityTable, Stored, TableFactory } from '../ports/tables';
import { StaleEtagError } from '../ports/tables';
import type { Job, ProtectedItem, RecoveryPoint } from '../domain/model';
import type { Policy } from '../domain/policy';
import type { DiscoveredVm } from './discovery';
import type { RequestRecord } from './idempotency';

const DATE_KEYS = new Set(['discoveredAt', 'createdAt', 'startedAt', 'endedAt', 'lockExpiresAt', 'lastBackupAt', 'expiresAt', 'deletedAt', 'verifiedAt', 'protectedAt']);

function revive(_k: string, v: unknown): unknown {
  return typeof v === 'string' && DATE_KEYS.has(_k) ? new Date(v) : v;
}

/** Keys that sort newest first: (max - ms) zero padded. */
export function newestFirstKey(d: Date): string {
  return String(8_640_000_000_000_000 - d.getTime()).padStart(16, '0');
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
  ) {}

  private toEntity(doc: T): Entity {
    const json = JSON.stringify(doc);
    const half = 30_000;
    return {
      ...this.keyOf(doc),
      ...this.columns(doc),
      doc: json.slice(0, half),
      doc2: json.length > half ? json.slice(half) : '',
    };
  }

  private fromEntity(e: Entity): T {
    return JSON.parse(String(e.doc ?? '') + String(e.doc2 ?? ''), revive) as T;
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

export interface SegmentRow {
  jobId: string;
  segmentKey: string;
  state: 'Pending' | 'Done' | 'Cancelled';
  nextCell: number;
  stats: Record<string, number>;
}

export interface Repos {
  items: DocumentCollection<ProtectedItem>;
  jobs: DocumentCollection<Job>;
  points: DocumentCollection<RecoveryPoint>;
  policies: DocumentCollection<Policy>;
  segments: DocumentCollection<SegmentRow>;
  discovered: DocumentCollection<DiscoveredVm>;
  /** Idempotency keys of job-creating requests. */
  requests: DocumentCollection<RequestRecord>;
  ensure(): Promise<void>;
}

export function createRepos(tables: TableFactory, prefix = 'vmb'): Repos {
  const t = (n: string): EntityTable => tables.table(`${prefix}${n}`);
  const repos: Repos = {
    items: new DocumentCollection<ProtectedItem>(t('items'), (i) => ({ partitionKey: 'item', rowKey: i.itemKey }), (i) => ({ state: i.state, policyName: i.policyName ?? '' })),
    jobs: new DocumentCollection<Job>(t('jobs'), (j) => ({ partitionKey: 'job', rowKey: j.jobId }), (j) => ({ type: j.type, status: j.status, itemKey: j.itemKey ?? '' })),
    points: new DocumentCollection<RecoveryPoint>(t('points'), (p) => ({ partitionKey: p.itemKey, rowKey: p.pointId }), (p) => ({ state: p.state })),
    policies: new DocumentCollection<Policy>(t('policies'), (p) => ({ partitionKey: 'policy', rowKey: p.name })),
    segments: new DocumentCollection<SegmentRow>(t('segments'), (s) => ({ partitionKey: s.jobId, rowKey: s.segmentKey }), (s) => ({ state: s.state })),
    discovered: new DocumentCollection<DiscoveredVm>(t('vms'), (v) => ({ partitionKey: 'vm', rowKey: v.itemKey })),
    requests: new DocumentCollection<RequestRecord>(t('requests'), (r) => ({ partitionKey: 'request', rowKey: r.keyHash })),
    async ensure() {
      await Promise.all([repos.items, repos.jobs, repos.points, repos.policies, repos.segments, repos.discovered, repos.requests].map((c) => c.table.ensure()));
    },
  };
  return repos;
}
