import { DiskStoreError, PAGE_SIZE, type ByteRange } from './types';

/** Data is kept in 64 KiB blocks, allocated on first write; each page has a valid flag. */
export const BLOCK_SIZE = 64 * 1024;
export const PAGES_PER_BLOCK = BLOCK_SIZE / PAGE_SIZE;

export interface Block {
  data: Buffer;
  valid: Uint8Array;
  /** Generation of the disk when this block object was made; older ones are shared with snapshots. */
  gen: number;
}

/** Per page of a block: 0 untouched, 1 written, 2 cleared (last operation wins). */
export type OpMap = Map<number, Uint8Array>;
export const OP_WRITE = 1;
export const OP_CLEAR = 2;

export function checkAligned(offset: number, length: number, size: number): void {
  if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset % PAGE_SIZE !== 0 || length % PAGE_SIZE !== 0) {
    throw new DiskStoreError('Unaligned', `offset ${offset} and length ${length} must be multiples of ${PAGE_SIZE}`);
  }
  if (offset < 0 || length < 0 || offset + length > size) {
    throw new DiskStoreError('InvalidRange', `range ${offset}+${length} is outside the size ${size}`);
  }
}

export function checkInside(offset: number, length: number, size: number): void {
  if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0 || offset + length > size) {
    throw new DiskStoreError('InvalidRange', `range ${offset}+${length} is outside the size ${size}`);
  }
}

/** Calls fn for each block touched by [offset, offset+length) with the in-block byte span. */
export function forEachBlock(offset: number, length: number, fn: (block: number, from: number, to: number, srcOffset: number) => void): void {
  let pos = offset;
  const end = offset + length;
  while (pos < end) {
    const block = Math.floor(pos / BLOCK_SIZE);
    const from = pos - block * BLOCK_SIZE;
    const to = Math.min(BLOCK_SIZE, end - block * BLOCK_SIZE);
    fn(block, from, to, pos - offset);
    pos = block * BLOCK_SIZE + to;
  }
}

export function recordOp(ops: OpMap, offset: number, length: number, op: number): void {
  forEachBlock(offset, length, (b, from, to) => {
    let m = ops.get(b);
    if (!m) ops.set(b, (m = new Uint8Array(PAGES_PER_BLOCK)));
    m.fill(op, from / PAGE_SIZE, to / PAGE_SIZE);
  });
}

/** Layers `newer` over `older` (newer's operations win) into a new map. */
export function mergeOps(older: OpMap, newer: OpMap): OpMap {
  const out: OpMap = new Map();
  for (const [b, m] of older) out.set(b, Uint8Array.from(m));
  for (const [b, m] of newer) {
    const dst = out.get(b);
    if (!dst) out.set(b, Uint8Array.from(m));
    else for (let i = 0; i < PAGES_PER_BLOCK; i++) if (m[i]) dst[i] = m[i]!;
  }
  return out;
}

/** Coalesced byte ranges of pages (in sorted blocks) for which pick(block, pageIndex) is true, inside window. */
export function collectRanges(blocks: Iterable<number>, window: ByteRange, pick: (block: number, page: number) => boolean): ByteRange[] {
  const sorted = [...blocks].sort((a, b) => a - b);
  const out: ByteRange[] = [];
  const firstBlock = Math.floor(window.start / BLOCK_SIZE);
  const lastBlock = Math.floor((window.end - 1) / BLOCK_SIZE);
  for (const b of sorted) {
    if (b < firstBlock || b > lastBlock) continue;
    for (let p = 0; p < PAGES_PER_BLOCK; p++) {
      if (!pick(b, p)) continue;
      const start = Math.max(window.start, b * BLOCK_SIZE + p * PAGE_SIZE);
      const end = Math.min(window.end, start - (start % PAGE_SIZE) + PAGE_SIZE);
      if (end <= start) continue;
      const last = out[out.length - 1];
      if (last && last.end === start) last.end = end;
      else out.push({ start, end });
    }
  }
  return out;
}
