import type { PackageStore } from '../ports/packages';
import type { BackupStore } from '../ports/storage';
import { type RetryOptions, pacedCalls } from './pacer';
import { digestMatches } from './cell-digest';
import { isAllZero, sha256, type DiskManifest } from './manifest';
import { CELL, coalesce, len, planCells, windows, type Range } from '../domain/ranges';
import { runPool } from './copy-segment';
import { chunkFile, compressChunk, compressionOf, decompressChunk, PackageError, parseChunkFile, type PackageChunk } from './package-format';

/** A disk image to export: its allocated ranges and their bytes (a source snapshot or a recovery point). */
export interface DiskImageReader {
  ranges(window: Range): Promise<Range[]>;
  read(range: Range): Promise<Buffer>;
}

export interface ExportDiskPlan {
  diskKey: string;
  diskSize: number;
  concurrency: number;
  rangeWindow: number;
  /** Files already in the package (a resumed export): a chunk that still verifies is not read again. */
  existing: readonly { name: string; size: number }[];
  /** The recovery point's manifest when exporting a point: every chunk must match it. */
  expected?: DiskManifest;
  retry?: RetryOptions;
}

export interface ExportStats {
  cellsScanned: number;
  chunksWritten: number;
  chunksReused: number;
  /** Bytes of the chunks before compression (allocated, non-zero cells). */
  dataBytes: number;
  /** Bytes of the chunk files. */
  packageBytes: number;
  bytesRead: number;
}

export function newExportStats(): ExportStats {
  return { cellsScanned: 0, chunksWritten: 0, chunksReused: 0, dataBytes: 0, packageBytes: 0, bytesRead: 0 };
}

/**
 * Writes one disk into a package: only allocated ranges are read, each 4 MiB cell that is not all zero
 * becomes one compressed chunk named by its cell and SHA-256. A chunk left by an earlier run of the
 * same export is kept if it still inflates to its hash, so an interrupted export resumes where it stopped.
 */
export async function exportDisk(
  plan: ExportDiskPlan,
  reader: DiskImageReader,
  pkg: PackageStore,
  opts: { onProgress?: (s: ExportStats) => void; onPlanned?: (cells: number) => void; isCancelled?: () => Promise<boolean>; stats?: ExportStats } = {},
): Promise<PackageChunk[]> {
  const stats = opts.stats ?? newExportStats();
  const { limiter, call } = pacedCalls(plan.concurrency, plan.retry);

  const existing = existingChunks(plan);
  const valid: Range[] = [];
  for (const w of windows({ start: 0, end: plan.diskSize }, plan.rangeWindow)) valid.push(...(await call(() => reader.ranges(w))));
  const cells = planCells(coalesce(valid), [], plan.diskSize);
  opts.onPlanned?.(cells.length);
  const chunks: PackageChunk[] = [];

  await runPool(
    cells,
    limiter,
    async (cell) => {
      stats.cellsScanned++;
      const reused = await reuse(pkg, existing.get(cell.index) ?? [], len(cell.span));
      // A format-2 (GHASH) cell cannot be checked against a chunk's SHA-256 without its bytes: it is read again.
      if (reused && (!plan.expected || plan.expected.cells.get(cell.index)?.toString('hex') === reused.sha256)) {
        chunks.push({ offset: cell.span.start, length: len(cell.span), compressedLength: reused.size, compression: compressionOf(reused.name), sha256: reused.sha256, file: reused.name });
        stats.chunksReused++;
        stats.dataBytes += len(cell.span);
        stats.packageBytes += reused.size;
        opts.onProgress?.(stats);
        return;
      }
      const image = await readCell(cell, (r) => call(() => reader.read(r)), stats);
      const expected = plan.expected?.cells.get(cell.index);
      if (isAllZero(image)) {
        if (expected) throw new PackageError('PackageChecksumMismatch', `Cell ${cell.index} of disk '${plan.diskKey}' reads as zeros but the recovery point's manifest has data there.`);
        return;
      }
      const hash = sha256(image);
      if (plan.expected && !(expected && (expected.length === hash.length ? expected.equals(hash) : digestMatches(expected, image)))) {
        throw new PackageError('PackageChecksumMismatch', `Cell ${cell.index} of disk '${plan.diskKey}' does not match the recovery point's manifest.`);
      }
      const hex = hash.toString('hex');
      const body = await compressChunk(image);
      const file = chunkFile(plan.diskKey, cell.index, hex);
      await call(() => pkg.put(file, body));
      chunks.push({ offset: cell.span.start, length: image.length, compressedLength: body.length, compression: 'brotli', sha256: hex, file });
      stats.chunksWritten++;
      stats.dataBytes += image.length;
      stats.packageBytes += body.length;
      opts.onProgress?.(stats);
    },
    opts.isCancelled,
  );
  if (plan.expected) checkNothingLost(plan, chunks);
  return chunks.sort((a, b) => a.offset - b.offset);
}

/** Chunks an earlier run of this export left, by cell. */
function existingChunks(plan: ExportDiskPlan): Map<number, { name: string; size: number }[]> {
  const existing = new Map<number, { name: string; size: number }[]>();
  for (const f of plan.existing) {
    const c = parseChunkFile(f.name);
    if (c && c.diskKey === plan.diskKey) existing.set(c.cell, [...(existing.get(c.cell) ?? []), f]);
  }
  return existing;
}

async function readCell(cell: { span: Range; changed: Range[] }, read: (r: Range) => Promise<Buffer>, stats: ExportStats): Promise<Buffer> {
  const image = Buffer.alloc(len(cell.span));
  for (const r of cell.changed) {
    const data = await read(r);
    stats.bytesRead += data.length;
    data.copy(image, r.start - cell.span.start);
  }
  return image;
}

function checkNothingLost(plan: ExportDiskPlan, chunks: PackageChunk[]): void {
  const have = new Set(chunks.map((c) => c.offset / CELL));
  const lost = [...plan.expected!.cells.keys()].filter((i) => !have.has(i));
  if (lost.length > 0) throw new PackageError('PackageChecksumMismatch', `${lost.length} cell(s) of disk '${plan.diskKey}' in the recovery point's manifest have no data in its shards.`);
}

async function reuse(pkg: PackageStore, candidates: { name: string; size: number }[], length: number): Promise<{ name: string; size: number; sha256: string } | undefined> {
  for (const f of candidates) {
    const body = await pkg.get(f.name);
    const claimed = parseChunkFile(f.name)!.sha256;
    try {
      const data = body ? await decompressChunk(body, compressionOf(f.name)) : undefined;
      if (body && data && data.length === length && sha256(data).toString('hex') === claimed) return { name: f.name, size: body.length, sha256: claimed };
    } catch {
      // a torn or damaged chunk: written again below
    }
    await pkg.remove(f.name);
  }
  return undefined;
}

/** A recovery point as a disk image: the valid ranges and bytes of its shard snapshots. */
export function pointImageReader(store: BackupStore, shards: { name: string; snapshot: string }[], shardSize: number): DiskImageReader {
  const pieces = (r: Range): { shard: { name: string; snapshot: string }; base: number; local: Range }[] => {
    const out: { shard: { name: string; snapshot: string }; base: number; local: Range }[] = [];
    for (let s = r.start; s < r.end; ) {
      const i = Math.floor(s / shardSize);
      const base = i * shardSize;
      const e = Math.min(r.end, base + shardSize);
      out.push({ shard: shards[i]!, base, local: { start: s - base, end: e - base } });
      s = e;
    }
    return out;
  };
  return {
    async ranges(window) {
      const out: Range[] = [];
      for (const p of pieces(window)) {
        for (const r of await store.shardSnapshotRanges(p.shard.name, p.shard.snapshot, p.local)) out.push({ start: r.start + p.base, end: r.end + p.base });
      }
      return out;
    },
    async read(range) {
      const parts = await Promise.all(pieces(range).map((p) => store.readShardSnapshot(p.shard.name, p.shard.snapshot, p.local)));
      return parts.length === 1 ? parts[0]! : Buffer.concat(parts);
    },
  };
}
