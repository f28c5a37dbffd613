import { createHash } from 'node:crypto';
import { CELL, type Range } from '../domain/ranges';
import { decodeManifest, ManifestFormatError, manifestDigest } from './manifest';

/**
 * Format 2 of a disk's manifest: a small header blob and one part blob per copy segment, so a segment reads and
 * writes only its own part and finalize writes the header from the segments' summaries, whatever the disk size.
 *
 * Header: 'VMBM0002', diskSize u64, partCells u32, parts u32, cells u64, sum (32 bytes).
 * Part:   'VMBP0002', firstCell u64, spanCells u32, count u32, count x (index u64, length u8, digest), SHA-256 of
 *         everything before it (a truncated or damaged part is refused, not read as zeros).
 * The digest of the whole image is SHA-256('VMBI0002', diskSize u64, sum), where sum adds SHA-256(index u64,
 * digest) of every cell lane by lane (eight u32 lanes, mod 2^32): each segment sums its own part, finalize adds
 * the eight-lane sums, and equal content gives an equal digest however the disk was cut into segments.
 */
const HEADER_MAGIC = Buffer.from('VMBM0002');
const PART_MAGIC = Buffer.from('VMBP0002');
const HEADER_SIZE = 8 + 8 + 4 + 4 + 8 + 32;
const IMAGE_MAGIC = Buffer.from('VMBI0002');

export interface ManifestHeader {
  diskSize: number;
  partCells: number;
  parts: number;
  cells: number;
  sum: Buffer;
}

export function isHeader(buf: Buffer): boolean {
  return buf.length >= 8 && buf.subarray(0, 8).equals(HEADER_MAGIC);
}

export function encodeHeader(h: ManifestHeader): Buffer {
  const out = Buffer.alloc(HEADER_SIZE);
  HEADER_MAGIC.copy(out, 0);
  out.writeBigUInt64BE(BigInt(h.diskSize), 8);
  out.writeUInt32BE(h.partCells, 16);
  out.writeUInt32BE(h.parts, 20);
  out.writeBigUInt64BE(BigInt(h.cells), 24);
  h.sum.copy(out, 32);
  return out;
}

export function decodeHeader(buf: Buffer): ManifestHeader {
  if (buf.length !== HEADER_SIZE || !isHeader(buf)) throw new ManifestFormatError('not a format-2 manifest header');
  return {
    diskSize: Number(buf.readBigUInt64BE(8)),
    partCells: buf.readUInt32BE(16),
    parts: buf.readUInt32BE(20),
    cells: Number(buf.readBigUInt64BE(24)),
    sum: Buffer.from(buf.subarray(32, 64)),
  };
}

export interface ManifestPart {
  firstCell: number;
  spanCells: number;
  cells: Map<number, Buffer>;
}

export function encodePart(p: ManifestPart): Buffer {
  const indexes = [...p.cells.keys()].sort((a, b) => a - b);
  const size = 24 + indexes.reduce((n, i) => n + 9 + p.cells.get(i)!.length, 0) + 32;
  const out = Buffer.alloc(size);
  PART_MAGIC.copy(out, 0);
  out.writeBigUInt64BE(BigInt(p.firstCell), 8);
  out.writeUInt32BE(p.spanCells, 16);
  out.writeUInt32BE(indexes.length, 20);
  let o = 24;
  for (const i of indexes) {
    const d = p.cells.get(i)!;
    out.writeBigUInt64BE(BigInt(i), o);
    out[o + 8] = d.length;
    d.copy(out, o + 9);
    o += 9 + d.length;
  }
  createHash('sha256').update(out.subarray(0, o)).digest().copy(out, o);
  return out;
}

export function decodePart(buf: Buffer): ManifestPart {
  if (buf.length < 56 || !buf.subarray(0, 8).equals(PART_MAGIC)) throw new ManifestFormatError('not a format-2 manifest part');
  const body = buf.subarray(0, buf.length - 32);
  if (
    !createHash('sha256')
      .update(body)
      .digest()
      .equals(buf.subarray(buf.length - 32))
  )
    throw new ManifestFormatError('manifest part fails its checksum');
  const firstCell = Number(buf.readBigUInt64BE(8));
  const spanCells = buf.readUInt32BE(16);
  const count = buf.readUInt32BE(20);
  const cells = new Map<number, Buffer>();
  let o = 24;
  for (let k = 0; k < count; k++) {
    const n = buf[o + 8]!;
    if (o + 9 + n > body.length) throw new ManifestFormatError('manifest part is truncated');
    cells.set(Number(buf.readBigUInt64BE(o)), Buffer.from(buf.subarray(o + 9, o + 9 + n)));
    o += 9 + n;
  }
  if (o !== body.length) throw new ManifestFormatError('manifest part has trailing bytes');
  return { firstCell, spanCells, cells };
}

/** Adds each cell's SHA-256(index, digest) into eight u32 lanes. */
export function sumCells(cells: Iterable<[number, Buffer]>, into: Buffer = Buffer.alloc(32)): Buffer {
  const idx = Buffer.alloc(8);
  for (const [i, d] of cells) {
    idx.writeBigUInt64BE(BigInt(i));
    addLanes(into, createHash('sha256').update(idx).update(d).digest());
  }
  return into;
}

export function addLanes(into: Buffer, x: Buffer): Buffer {
  for (let o = 0; o < 32; o += 4) into.writeUInt32BE((into.readUInt32BE(o) + x.readUInt32BE(o)) >>> 0, o);
  return into;
}

export function imageDigest(diskSize: number, sum: Buffer): string {
  const size = Buffer.alloc(8);
  size.writeBigUInt64BE(BigInt(diskSize));
  return createHash('sha256').update(IMAGE_MAGIC).update(size).update(sum).digest('hex');
}

/** The part that holds cell `i`. */
export const partOf = (cell: number, partCells: number): number => Math.floor(cell / partCells);

/**
 * Read access to a point's manifest by range: format 2 reads only the parts a range touches; format 1 (one blob
 * for the whole disk) is decoded once and kept, which is what reading it always cost.
 */
export interface ManifestReader {
  readonly format: 1 | 2;
  readonly diskSize: number;
  /** Format 2 only: cells per part (= the segment size of the backup that wrote it). */
  readonly partCells?: number;
  /** Non-zero cells of the whole image. */
  readonly count: number;
  /** Format 1: the digest of the whole manifest, as points recorded it then (format 2 sums its parts as read). */
  readonly legacyDigest?: string;
  /** Format 2: the lane sum the header records (verify checks the parts add up to it). */
  readonly sum?: Buffer;
  cells(range: Range): Promise<Map<number, Buffer>>;
}

export async function openManifest(get: (name: string) => Promise<Buffer | undefined>, name: string, partName: (name: string, part: number) => string): Promise<ManifestReader | undefined> {
  const buf = await get(name);
  if (!buf) return undefined;
  if (!isHeader(buf)) {
    const m = decodeManifest(buf);
    // Sorted once: a range is then a binary search and a slice, not a pass over every cell for every span.
    const order = [...m.cells.keys()].sort((a, b) => a - b);
    return { format: 1, diskSize: m.diskSize, count: m.cells.size, legacyDigest: manifestDigest(m), cells: async (r) => inRange(m.cells, order, r) };
  }
  const h = decodeHeader(buf);
  return {
    format: 2,
    diskSize: h.diskSize,
    partCells: h.partCells,
    count: h.cells,
    sum: h.sum,
    async cells(r) {
      const out = new Map<number, Buffer>();
      const first = Math.floor(r.start / CELL);
      const last = Math.ceil(r.end / CELL) - 1;
      for (let p = partOf(first, h.partCells); p <= partOf(last, h.partCells) && p < h.parts; p++) {
        const part = await get(partName(name, p));
        if (!part) throw new ManifestFormatError(`manifest part ${p} is missing`);
        for (const [i, d] of decodePart(part).cells) if (i >= first && i <= last) out.set(i, d);
      }
      return out;
    },
  };
}

function inRange(cells: Map<number, Buffer>, order: readonly number[], r: Range): Map<number, Buffer> {
  const first = Math.floor(r.start / CELL);
  const last = Math.ceil(r.end / CELL) - 1;
  let lo = 0,
    hi = order.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (order[mid]! < first) lo = mid + 1;
    else hi = mid;
  }
  const out = new Map<number, Buffer>();
  for (let k = lo; k < order.length && order[k]! <= last; k++) out.set(order[k]!, cells.get(order[k]!)!);
  return out;
}
