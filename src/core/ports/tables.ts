import { ValidationError } from '../errors';

/**
 * A table of entities with optimistic concurrency. Every read-modify-write passes the ETag it read; a stale
 * one fails with StaleEtagError so the caller re-reads and tries again instead of losing an update.
 * Keys never contain / \ # ? or control characters (see keys.ts).
 */
export type EntityValue = string | number | boolean | Date | null | undefined;
export type Entity = { partitionKey: string; rowKey: string } & Record<string, EntityValue>;

export interface Stored<T extends Entity> {
  entity: T;
  etag: string;
}

export class StaleEtagError extends Error {
  constructor() {
    super('the entity changed since it was read');
    this.name = 'StaleEtagError';
  }
}

export class EntityExistsError extends Error {
  constructor() {
    super('the entity already exists');
    this.name = 'EntityExistsError';
  }
}

/**
 * A continuation token the table did not hand out (garbage, edited, or from another list): the caller's
 * mistake, so a 400 that says to start the listing again, never a 500.
 */
export function invalidContinuation(): ValidationError {
  return new ValidationError(
    'The continuation token is not one this API returned.',
    'Send the continuation value from the previous page unchanged, or leave it out to start from the first page.',
    undefined,
    'InvalidContinuationToken',
  );
}

export interface QueryOptions {
  /** Inclusive lower and exclusive upper RowKey bounds. */
  rowKeyFrom?: string;
  rowKeyTo?: string;
  /** Equality filters on properties (AND). */
  where?: Record<string, string | number | boolean>;
  /** Page size; the result carries a continuation token when more rows exist. */
  top?: number;
  continuation?: string;
}

export interface Page<T> {
  items: T[];
  continuation?: string;
}

export interface EntityTable {
  readonly name: string;
  ensure(): Promise<void>;
  get<T extends Entity>(partitionKey: string, rowKey: string): Promise<Stored<T> | undefined>;
  /** Fails with EntityExistsError if the key is taken. */
  insert<T extends Entity>(entity: T): Promise<Stored<T>>;
  /** Replaces the entity if its ETag still matches; StaleEtagError otherwise. */
  replace<T extends Entity>(entity: T, etag: string): Promise<Stored<T>>;
  upsert<T extends Entity>(entity: T): Promise<Stored<T>>;
  /** Deletes if the ETag matches (or unconditionally without one); absent rows are fine. */
  delete(partitionKey: string, rowKey: string, etag?: string): Promise<void>;
  /** Rows in RowKey order within one partition (or across partitions when partitionKey is undefined). */
  query<T extends Entity>(partitionKey: string | undefined, options?: QueryOptions): Promise<Page<Stored<T>>>;
}

export interface TableFactory {
  table(name: string): EntityTable;
}
