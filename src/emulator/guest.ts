import { createHash } from 'node:crypto';
import type { DiskStore } from './disk/types';
import { DIGEST_CELL, digestFromCells, ghashCell, imageDigestFromCells } from './digest';

const PAGE = 512;

/** Deterministic pseudo-random bytes (xorshift32 over 32-bit words): fast enough for GiBs of test data. */
export function seededBytes(length: number, seed: number): Buffer {
  const buf = Buffer.alloc(length);
  let x = seed >>> 0 || 0x9e3779b9;
  for (let i = 0; i + 4 <= length; i += 4) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    buf.writeUInt32LE(x, i);
  }
  return buf;
}

export function write(store: DiskStore, diskId: string, offset: number, data: Buffer): void {
  store.write(diskId, offset, data);
}

/** Fills a range with seeded data, 4 MiB at a time so memory stays flat for large fills. */
export function fill(store: DiskStore, diskId: string, offset: number, length: number, seed: number): void {
  for (let o = 0; o < length; o += DIGEST_CELL) {
    const n = Math.min(DIGEST_CELL, length - o);
    store.write(diskId, offset + o, seededBytes(n, seed + o / PAGE));
  }
}

export function trim(store: DiskStore, diskId: string, offset: number, length: number): void {
  store.clear(diskId, offset, length);
}

export type GuestOp = { kind: 'write' | 'clear'; offset: number; length: number };

export interface WorkloadOptions {
  seed: number;
  ops: number;
  maxWriteBytes?: number;
  clearRatio?: number;
}

/**
 * What a running guest does to a disk: single-page writes, ranges that cross 4 MiB lines or start mid-cell,
 * overwrites of hot areas, trims. Seeded, so a test or benchmark can replay it.
 */
export function randomWorkload(store: DiskStore, diskId: string, opts: WorkloadOptions): GuestOp[] {
  const size = store.get(diskId)!.sizeBytes;
  let s = opts.seed >>> 0 || 1;
  const rand = (): number => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32;
  const maxPages = Math.max(1, Math.floor((opts.maxWriteBytes ?? 8 * 1024 * 1024) / PAGE));
  const hot = Array.from({ length: 4 }, () => Math.floor(rand() * (size / PAGE)));
  const ops: GuestOp[] = [];
  for (let k = 0; k < opts.ops; k++) {
    const r = rand();
    const startPage = r < 0.5 ? (hot[Math.floor(rand() * hot.length)]! + Math.floor(rand() * 20_000)) % (size / PAGE) : Math.floor(rand() * (size / PAGE));
    const shape = rand();
    let pages = shape < 0.35 ? 1 : shape < 0.7 ? 1 + Math.floor(rand() * 64) : 1 + Math.floor(rand() * maxPages);
    if (shape > 0.9) pages = Math.max(pages, DIGEST_CELL / PAGE + 7); // crosses at least one cell line
    const offset = startPage * PAGE;
    const length = Math.min(pages * PAGE, size - offset);
    const op: GuestOp = { kind: rand() < (opts.clearRatio ?? 0.15) ? 'clear' : 'write', offset, length };
    if (op.kind === 'write') fill(store, diskId, offset, length, Math.floor(rand() * 2 ** 31));
    else trim(store, diskId, offset, length);
    ops.push(op);
  }
  return ops;
}

/** The 4 MiB cells that valid ranges touch, in order: the only ones that can hold anything but zeros. */
function cellsWithData(store: DiskStore, id: string): number[] {
  const cells = new Set<number>();
  for (const r of store.validRanges(id)) for (let c = Math.floor(r.start / DIGEST_CELL); c * DIGEST_CELL < r.end; c++) cells.add(c);
  return [...cells].sort((a, b) => a - b);
}

/** SHA-256 and GHASH of every cell that is not all zero, reading only valid ranges. */
export function cellHashes(store: DiskStore, id: string): { index: number; sha256: Buffer; ghash: Buffer }[] {
  const size = store.get(id)!.sizeBytes;
  const zero = Buffer.alloc(DIGEST_CELL);
  const out: { index: number; sha256: Buffer; ghash: Buffer }[] = [];
  for (const c of cellsWithData(store, id)) {
    const start = c * DIGEST_CELL;
    const data = store.read(id, start, Math.min(DIGEST_CELL, size - start));
    if (data.equals(zero.subarray(0, data.length))) continue;
    out.push({ index: c, sha256: createHash('sha256').update(data).digest(), ghash: ghashCell(data) });
  }
  return out;
}

/** The digest a recovery point of this content records (format 2). */
export function contentDigest(store: DiskStore, id: string): string {
  return imageDigestFromCells(store.get(id)!.sizeBytes, cellHashes(store, id));
}

/** The format-1 digest: what a seeding package (and a point written before format 2) records. */
export function contentDigestV1(store: DiskStore, id: string): string {
  return digestFromCells(store.get(id)!.sizeBytes, cellHashes(store, id));
}

/**
 * Equal for two disks exactly when their whole content is, zeros included, at the cost of what they hold: a
 * SHA-256 over the size and each 4 MiB cell that is not all zero, with its index. What tests compare a restored
 * disk with its source by; `sha256` is for the rare check against bytes hashed elsewhere.
 */
export function fingerprint(store: DiskStore, id: string): string {
  const size = store.get(id)!.sizeBytes;
  const h = createHash('sha256').update(`${size}\n`);
  const zero = Buffer.alloc(DIGEST_CELL);
  for (const c of cellsWithData(store, id)) {
    const data = store.read(id, c * DIGEST_CELL, Math.min(DIGEST_CELL, size - c * DIGEST_CELL));
    if (data.equals(zero.subarray(0, data.length))) continue;
    h.update(`${c}\n`).update(data);
  }
  return h.digest('hex');
}

/** The real SHA-256 of the whole content, zeros included: it hashes every byte, so keep it to small disks. */
export function sha256(store: DiskStore, id: string): string {
  const size = store.get(id)!.sizeBytes;
  const h = createHash('sha256');
  const zero = Buffer.alloc(DIGEST_CELL);
  const valid = new Set(cellsWithData(store, id));
  for (let o = 0, c = 0; o < size; o += DIGEST_CELL, c++) {
    const n = Math.min(DIGEST_CELL, size - o);
    h.update(valid.has(c) ? store.read(id, o, n) : zero.subarray(0, n));
  }
  return h.digest('hex');
}
