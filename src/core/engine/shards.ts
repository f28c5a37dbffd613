import { CELL, type Range } from '../domain/ranges';

export const TIB = 1024 ** 4;
export const GIB = 1024 ** 3;
export const MIB = 1024 ** 2;
/** A standard page blob holds at most 8 TiB. */
export const MAX_SHARD_SIZE = 8 * TIB;

export interface ShardSpan {
  index: number;
  /** Absolute disk range covered by this shard. */
  span: Range;
}

/**
 * A disk's address space split over page blobs of `shardSize` bytes (the last one shorter).
 * shardSize is a multiple of the manifest cell so a cell never straddles two blobs.
 */
export function shardLayout(diskSize: number, shardSize: number): ShardSpan[] {
  assertShardSize(shardSize);
  const out: ShardSpan[] = [];
  for (let i = 0, s = 0; s < diskSize; i++, s += shardSize) {
    out.push({ index: i, span: { start: s, end: Math.min(diskSize, s + shardSize) } });
  }
  return out;
}

export function shardOf(offset: number, shardSize: number): number {
  return Math.floor(offset / shardSize);
}

export function assertShardSize(shardSize: number): void {
  if (!Number.isSafeInteger(shardSize) || shardSize <= 0 || shardSize % CELL !== 0 || shardSize > MAX_SHARD_SIZE) {
    throw new RangeError(`shard size ${shardSize} must be a positive multiple of 4 MiB and at most 8 TiB`);
  }
}

/** Splits a range that may cross shard boundaries into per-shard pieces with shard-relative offsets. */
export function toShardPieces(r: Range, shardSize: number): { shard: number; local: Range; abs: Range }[] {
  const out: { shard: number; local: Range; abs: Range }[] = [];
  let s = r.start;
  while (s < r.end) {
    const shard = shardOf(s, shardSize);
    const base = shard * shardSize;
    const e = Math.min(r.end, base + shardSize);
    out.push({ shard, local: { start: s - base, end: e - base }, abs: { start: s, end: e } });
    s = e;
  }
  return out;
}

/** Segments: the unit of fan-out across queue messages; a multiple of the cell size. */
export function segmentLayout(diskSize: number, segmentSize: number): Range[] {
  if (segmentSize <= 0 || segmentSize % CELL !== 0) throw new RangeError('segment size must be a positive multiple of 4 MiB');
  const out: Range[] = [];
  for (let s = 0; s < diskSize; s += segmentSize) out.push({ start: s, end: Math.min(diskSize, s + segmentSize) });
  return out;
}

/**
 * Reorders work so consecutive items fall in different lanes (page blobs): one page blob serves about 60 MiB/s
 * (Azure's scalability targets for a single blob), so work taken in disk order would queue on one blob at a time.
 * Items keep their order within a lane.
 */
export function roundRobin<T>(items: readonly T[], laneOf: (item: T) => string): T[] {
  const lanes = new Map<string, T[]>();
  for (const it of items) {
    const k = laneOf(it);
    if (!lanes.has(k)) lanes.set(k, []);
    lanes.get(k)!.push(it);
  }
  const out: T[] = [];
  const all = [...lanes.values()];
  for (let i = 0; out.length < items.length; i++) for (const l of all) if (i < l.length) out.push(l[i]!);
  return out;
}
