import { createHash } from 'node:crypto';
import { CELL } from '../domain/ranges';

/**
 * A recovery point's manifest for one disk: the digest of every 4 MiB grid cell that is not entirely zero
 * (cell-digest.ts: a 16-byte GHASH, or a 32-byte SHA-256 in cells last written before format 2). Missing cells are
 * zero. It describes the complete image (not a delta), so any point can be verified alone. This file holds
 * format 1 (one blob per disk, SHA-256 cells, still read for older points and written by package imports) and
 * the segment deltas; manifest-parts.ts holds format 2.
 */
export interface DiskManifest {
  diskSize: number;
  cells: Map<number, Buffer>;
}

const MAGIC = Buffer.from('VMBM0001');
const ENTRY = 8 + 32;

export function encodeManifest(m: DiskManifest): Buffer {
  const indexes = [...m.cells.keys()].sort((a, b) => a - b);
  const out = Buffer.alloc(MAGIC.length + 16 + indexes.length * ENTRY);
  MAGIC.copy(out, 0);
  out.writeBigUInt64BE(BigInt(m.diskSize), 8);
  out.writeBigUInt64BE(BigInt(indexes.length), 16);
  let o = 24;
  for (const i of indexes) {
    out.writeBigUInt64BE(BigInt(i), o);
    m.cells.get(i)!.copy(out, o + 8);
    o += ENTRY;
  }
  return out;
}

export class ManifestFormatError extends Error {}

export function decodeManifest(buf: Buffer): DiskManifest {
  if (buf.length < 24 || !buf.subarray(0, 8).equals(MAGIC)) throw new ManifestFormatError('not a vmbackup manifest');
  const diskSize = Number(buf.readBigUInt64BE(8));
  const count = Number(buf.readBigUInt64BE(16));
  if (buf.length !== 24 + count * ENTRY) throw new ManifestFormatError('manifest is truncated');
  const cells = new Map<number, Buffer>();
  for (let k = 0, o = 24; k < count; k++, o += ENTRY) {
    cells.set(Number(buf.readBigUInt64BE(o)), Buffer.from(buf.subarray(o + 8, o + ENTRY)));
  }
  return { diskSize, cells };
}

/** Cell updates of one segment: a digest, or null when the cell became all zero. */
export type CellDelta = Map<number, Buffer | null>;

const DELTA_MAGIC = Buffer.from('VMBD0002');

/** 'VMBD0002', count u64, then per cell: index u64, digest length u8 (0 = zero cell), digest. */
export function encodeDelta(d: CellDelta): Buffer {
  const entries = [...d.entries()].sort((a, b) => a[0] - b[0]);
  const out = Buffer.alloc(16 + entries.reduce((n, [, h]) => n + 9 + (h?.length ?? 0), 0));
  DELTA_MAGIC.copy(out, 0);
  out.writeBigUInt64BE(BigInt(d.size), 8);
  let o = 16;
  for (const [i, h] of entries) {
    out.writeBigUInt64BE(BigInt(i), o);
    out[o + 8] = h?.length ?? 0;
    h?.copy(out, o + 9);
    o += 9 + (h?.length ?? 0);
  }
  return out;
}

export function decodeDelta(buf: Buffer): CellDelta {
  if (!buf.subarray(0, 8).equals(DELTA_MAGIC)) return decodeDeltaV1(buf);
  const count = Number(buf.readBigUInt64BE(8));
  const d: CellDelta = new Map();
  let o = 16;
  for (let k = 0; k < count; k++) {
    const n = buf[o + 8];
    if (n === undefined || o + 9 + n > buf.length) throw new ManifestFormatError('segment checkpoint is truncated');
    d.set(Number(buf.readBigUInt64BE(o)), n ? Buffer.from(buf.subarray(o + 9, o + 9 + n)) : null);
    o += 9 + n;
  }
  if (o !== buf.length) throw new ManifestFormatError('segment checkpoint has trailing bytes');
  return d;
}

/** Checkpoints written before format 2 (fixed 41-byte entries): a job in flight across an upgrade resumes. */
function decodeDeltaV1(buf: Buffer): CellDelta {
  const count = Number(buf.readBigUInt64BE(0));
  if (buf.length !== 8 + count * 41) throw new ManifestFormatError('segment checkpoint is truncated');
  const d: CellDelta = new Map();
  for (let k = 0, o = 8; k < count; k++, o += 41) {
    d.set(Number(buf.readBigUInt64BE(o)), buf[o + 8] ? Buffer.from(buf.subarray(o + 9, o + 41)) : null);
  }
  return d;
}

/** Applies segment deltas on top of the previous point's manifest (or an empty one for a full copy). */
export function applyDeltas(base: DiskManifest | undefined, diskSize: number, deltas: Iterable<CellDelta>): DiskManifest {
  const cells = new Map(base?.cells ?? []);
  for (const d of deltas) for (const [i, h] of d) h ? cells.set(i, h) : cells.delete(i);
  const lastCell = Math.ceil(diskSize / CELL);
  for (const i of [...cells.keys()]) if (i >= lastCell) cells.delete(i);
  return { diskSize, cells };
}

/** One SHA-256 for a whole disk image, computed from its cells: equal content gives an equal digest. */
export function manifestDigest(m: DiskManifest): string {
  const h = createHash('sha256');
  const head = Buffer.alloc(8);
  head.writeBigUInt64BE(BigInt(m.diskSize));
  h.update(head);
  const entry = Buffer.alloc(8);
  for (const i of [...m.cells.keys()].sort((a, b) => a - b)) {
    entry.writeBigUInt64BE(BigInt(i));
    h.update(entry);
    h.update(m.cells.get(i)!);
  }
  return h.digest('hex');
}

export { sha256 } from './cell-digest';

const ZEROS = Buffer.alloc(CELL);

/** memcmp against a shared zero buffer: the check runs on every chunk of a copy. */
export function isAllZero(buf: Buffer): boolean {
  for (let o = 0; o < buf.length; o += ZEROS.length) {
    const part = buf.subarray(o, Math.min(buf.length, o + ZEROS.length));
    if (!part.equals(ZEROS.subarray(0, part.length))) return false;
  }
  return true;
}
