import { EntityExistsError, invalidContinuation, StaleEtagError, type Entity, type EntityTable, type Page, type QueryOptions, type Stored, type TableFactory } from '../../ports/tables';

let etagCounter = 0;
const nextEtag = (): string => `W/"mem-${++etagCounter}"`;

/** The same semantics as Table Storage in memory: ETags, insert conflicts, RowKey order, paging. */
export class MemoryEntityTable implements EntityTable {
  private rows = new Map<string, Stored<Entity>>();
  constructor(readonly name: string) {}

  private k(pk: string, rk: string): string {
    return `${pk}\u0000${rk}`;
  }

  async ensure(): Promise<void> {}

  async get<T extends Entity>(pk: string, rk: string): Promise<Stored<T> | undefined> {
    const r = this.rows.get(this.k(pk, rk));
    return r ? ({ entity: structuredClone(r.entity), etag: r.etag } as Stored<T>) : undefined;
  }

  async insert<T extends Entity>(entity: T): Promise<Stored<T>> {
    const key = this.k(entity.partitionKey, entity.rowKey);
    if (this.rows.has(key)) throw new EntityExistsError();
    return this.put(entity);
  }

  async replace<T extends Entity>(entity: T, etag: string): Promise<Stored<T>> {
    const cur = this.rows.get(this.k(entity.partitionKey, entity.rowKey));
    if (!cur || cur.etag !== etag) throw new StaleEtagError();
    return this.put(entity);
  }

  async upsert<T extends Entity>(entity: T): Promise<Stored<T>> {
    return this.put(entity);
  }

  private put<T extends Entity>(entity: T): Stored<T> {
    const stored = { entity: structuredClone(entity), etag: nextEtag() };
    this.rows.set(this.k(entity.partitionKey, entity.rowKey), stored);
    return { entity, etag: stored.etag };
  }

  async delete(pk: string, rk: string, etag?: string): Promise<void> {
    const cur = this.rows.get(this.k(pk, rk));
    if (!cur) return;
    if (etag && cur.etag !== etag) throw new StaleEtagError();
    this.rows.delete(this.k(pk, rk));
  }

  async query<T extends Entity>(pk: string | undefined, o: QueryOptions = {}): Promise<Page<Stored<T>>> {
    const all = [...this.rows.values()]
      .filter(
        (r) =>
          (pk === undefined || r.entity.partitionKey === pk) &&
          (o.rowKeyFrom === undefined || r.entity.rowKey >= o.rowKeyFrom) &&
          (o.rowKeyTo === undefined || r.entity.rowKey < o.rowKeyTo) &&
          Object.entries(o.where ?? {}).every(([k, v]) => r.entity[k] === v),
      )
      .sort((a, b) => (a.entity.partitionKey + '\u0000' + a.entity.rowKey < b.entity.partitionKey + '\u0000' + b.entity.rowKey ? -1 : 1));
    const start = o.continuation === undefined ? 0 : Number(o.continuation);
    if (!/^[0-9]{1,15}$/.test(o.continuation ?? '0') || !Number.isSafeInteger(start)) throw invalidContinuation();
    const top = o.top ?? 1000;
    const items = all.slice(start, start + top).map((r) => ({ entity: structuredClone(r.entity), etag: r.etag }) as Stored<T>);
    return { items, continuation: start + top < all.length ? String(start + top) : undefined };
  }
}

export class MemoryTableFactory implements TableFactory {
  private tables = new Map<string, MemoryEntityTable>();
  table(name: string): EntityTable {
    let t = this.tables.get(name);
    if (!t) this.tables.set(name, (t = new MemoryEntityTable(name)));
    return t;
  }
}
