import { odata, TableClient, type TableEntityResult } from '@azure/data-tables';
import type { TokenCredential } from '@azure/core-auth';
import type { PipelinePolicy } from '@azure/core-rest-pipeline';
import { EntityExistsError, invalidContinuation, StaleEtagError, type Entity, type EntityTable, type Page, type QueryOptions, type Stored, type TableFactory } from '../../ports/tables';

type ExtraPolicies = { policy: PipelinePolicy; position: 'perCall' | 'perRetry' }[];

function status(err: unknown): number | undefined {
  return (err as { statusCode?: number })?.statusCode;
}

/**
 * The SDK's token is base64 of JSON {nextPartitionKey, nextRowKey?} (the x-ms-continuation-NextPartitionKey
 * and -NextRowKey headers of Query Entities, https://learn.microsoft.com/rest/api/storageservices/query-timeout-and-pagination);
 * the SDK parses it unchecked, so anything else is refused here as the caller's mistake.
 */
function checkContinuation(token: string): void {
  let parsed: unknown;
  try {
    if (!/^[A-Za-z0-9+/_-]+={0,2}$/.test(token)) throw new Error('not base64');
    parsed = JSON.parse(Buffer.from(token, 'base64').toString('utf8'));
  } catch {
    throw invalidContinuation();
  }
  const t = parsed as { nextPartitionKey?: unknown; nextRowKey?: unknown } | null;
  if (!t || typeof t !== 'object' || typeof t.nextPartitionKey !== 'string' || (t.nextRowKey !== undefined && typeof t.nextRowKey !== 'string')) throw invalidContinuation();
}

function clean<T extends Entity>(e: TableEntityResult<Record<string, unknown>>): Stored<T> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(e)) {
    if (k === 'etag' || k === 'timestamp' || k.startsWith('odata.') || k.endsWith('@odata.type')) continue;
    out[k] = v;
  }
  return { entity: out as T, etag: e.etag };
}

function withoutUndefined(e: Entity): Record<string, unknown> {
  return Object.fromEntries(Object.entries(e).filter(([, v]) => v !== undefined && v !== null));
}

/** EntityTable on Azure Table Storage (or Azurite). */
export class AzureEntityTable implements EntityTable {
  constructor(private readonly client: TableClient) {}

  get name(): string {
    return this.client.tableName;
  }

  async ensure(): Promise<void> {
    try {
      await this.client.createTable();
    } catch (err) {
      if (status(err) !== 409) throw err;
    }
  }

  async get<T extends Entity>(partitionKey: string, rowKey: string): Promise<Stored<T> | undefined> {
    try {
      return clean<T>(await this.client.getEntity(partitionKey, rowKey));
    } catch (err) {
      if (status(err) === 404) return undefined;
      throw err;
    }
  }

  async insert<T extends Entity>(entity: T): Promise<Stored<T>> {
    try {
      const r = await this.client.createEntity(withoutUndefined(entity) as Entity);
      return { entity, etag: r.etag ?? '' };
    } catch (err) {
      if (status(err) === 409) throw new EntityExistsError();
      throw err;
    }
  }

  async replace<T extends Entity>(entity: T, etag: string): Promise<Stored<T>> {
    try {
      const r = await this.client.updateEntity(withoutUndefined(entity) as Entity, 'Replace', { etag });
      return { entity, etag: r.etag ?? '' };
    } catch (err) {
      if (status(err) === 412 || status(err) === 404) throw new StaleEtagError();
      throw err;
    }
  }

  async upsert<T extends Entity>(entity: T): Promise<Stored<T>> {
    const r = await this.client.upsertEntity(withoutUndefined(entity) as Entity, 'Replace');
    return { entity, etag: r.etag ?? '' };
  }

  async delete(partitionKey: string, rowKey: string, etag?: string): Promise<void> {
    try {
      await this.client.deleteEntity(partitionKey, rowKey, etag ? { etag } : undefined);
    } catch (err) {
      if (status(err) === 404) return;
      if (status(err) === 412) throw new StaleEtagError();
      throw err;
    }
  }

  async query<T extends Entity>(partitionKey: string | undefined, options: QueryOptions = {}): Promise<Page<Stored<T>>> {
    const parts: string[] = [];
    if (partitionKey !== undefined) parts.push(odata`PartitionKey eq ${partitionKey}`);
    if (options.rowKeyFrom !== undefined) parts.push(odata`RowKey ge ${options.rowKeyFrom}`);
    if (options.rowKeyTo !== undefined) parts.push(odata`RowKey lt ${options.rowKeyTo}`);
    for (const [k, v] of Object.entries(options.where ?? {})) {
      if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(k)) throw new Error(`invalid property name ${k}`);
      parts.push(`${k} eq ${typeof v === 'string' ? `'${v.replace(/'/g, "''")}'` : String(v)}`);
    }
    const filter = parts.length ? parts.join(' and ') : undefined;
    if (options.continuation !== undefined) checkContinuation(options.continuation);
    const pages = this.client.listEntities<Record<string, unknown>>({ queryOptions: { filter } }).byPage({ maxPageSize: options.top ?? 1000, continuationToken: options.continuation });
    const next = await pages.next().catch((err: unknown) => {
      // A well-formed token with keys the service refuses is still the caller's token.
      throw options.continuation !== undefined && status(err) === 400 ? invalidContinuation() : err;
    });
    if (next.done || !next.value) return { items: [] };
    const page = next.value as TableEntityResult<Record<string, unknown>>[] & { continuationToken?: string };
    return { items: page.map((e) => clean<T>(e)), continuation: page.continuationToken || undefined };
  }
}

export class AzureTableFactory implements TableFactory {
  private constructor(private readonly make: (table: string) => TableClient) {}

  static fromConnectionString(connectionString: string, opts: { additionalPolicies?: ExtraPolicies } = {}): AzureTableFactory {
    const insecure = /UseDevelopmentStorage=true|TableEndpoint=http:|DefaultEndpointsProtocol=http;/i.test(connectionString);
    return new AzureTableFactory((t) => TableClient.fromConnectionString(connectionString, t, { allowInsecureConnection: insecure, additionalPolicies: opts.additionalPolicies }));
  }

  static fromEndpoint(url: string, credential: TokenCredential, opts: { additionalPolicies?: ExtraPolicies } = {}): AzureTableFactory {
    return new AzureTableFactory((t) => new TableClient(url, t, credential, { additionalPolicies: opts.additionalPolicies }));
  }

  table(name: string): EntityTable {
    return new AzureEntityTable(this.make(name));
  }
}
