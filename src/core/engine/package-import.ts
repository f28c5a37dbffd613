import type { PackageStore } from '../ports/packages';
import type { BackupStore } from '../ports/storage';
import { type RetryOptions, pacedCalls } from './pacer';
import { sha256 } from './manifest';
import { cellTag } from './cell-digest';
import { CELL } from '../domain/ranges';
import { runPool } from './copy-segment';
import { shardLayout, toShardPieces } from './shards';
import { decompressChunk, PackageError, type PackageDisk, type PackageManifest } from './package-format';

/** Zero runs inside a chunk are not written, so the shards stay as sparse as the source. */
const WRITE_GRAIN = 64 * 1024;

export interface ImportStats {
  chunksVerified: number;
  dataBytes: number;
  bytesUploaded: number;
  packageBytesRead: number;
}

/**
 * Checks, before anything is written, that every chunk the manifest names is in the package with its full
 * size: a truncated or partial copy is refused at once instead of half-way through the shards.
 */
export async function checkPackageFiles(m: PackageManifest, pkg: PackageStore): Promise<void> {
  const sizes = new Map((await pkg.list()).map((f) => [f.name, f.size]));
  for (const d of m.disks) {
    for (const c of d.chunks) {
      const size = sizes.get(c.file);
      if (size === undefined) throw new PackageError('PackageIncomplete', `Chunk '${c.file}' of disk '${d.diskKey}' is missing from the package.`);
      if (size !== c.compressedLength)
        throw new PackageError('PackageIncomplete', `Chunk '${c.file}' of disk '${d.diskKey}' is ${size} bytes instead of ${c.compressedLength}: the file is truncated or damaged.`);
    }
  }
}

/**
 * Writes one disk of a package into its shards. Every chunk is inflated and its SHA-256 checked against the
 * manifest before its pages are written; a mismatch stops the import (the caller removes what was written).
 */
export async function importDisk(
  disk: PackageDisk,
  pkg: PackageStore,
  store: BackupStore,
  shardName: (index: number) => string,
  opts: {
    concurrency: number;
    retry?: RetryOptions;
    onProgress?: (s: ImportStats) => void;
    isCancelled?: () => Promise<boolean>;
    stats?: ImportStats;
    onCell?: (index: number, digest: Buffer) => void;
  },
): Promise<ImportStats> {
  const stats = opts.stats ?? { chunksVerified: 0, dataBytes: 0, bytesUploaded: 0, packageBytesRead: 0 };
  const { limiter, call } = pacedCalls(opts.concurrency, opts.retry);
  // A shard left over from an earlier attempt is emptied: the package is the whole image.
  for (const s of shardLayout(disk.sizeBytes, disk.shardSize)) await call(() => store.resetShard(shardName(s.index), s.span.end - s.span.start));

  await runPool(
    disk.chunks,
    limiter,
    async (c) => {
      const body = await call(() => pkg.get(c.file));
      if (!body) throw new PackageError('PackageIncomplete', `Chunk '${c.file}' of disk '${disk.diskKey}' is missing from the package.`);
      stats.packageBytesRead += body.length;
      let data: Buffer;
      try {
        data = await decompressChunk(body, c.compression);
      } catch {
        throw new PackageError('PackageChecksumMismatch', `Chunk '${c.file}' of disk '${disk.diskKey}' cannot be decompressed: it is damaged.`);
      }
      if (data.length !== c.length || sha256(data).toString('hex') !== c.sha256) {
        throw new PackageError('PackageChecksumMismatch', `Chunk '${c.file}' of disk '${disk.diskKey}' does not match its SHA-256 in the package manifest.`);
      }
      stats.chunksVerified++;
      stats.dataBytes += data.length;
      // The point's manifest gets the format-2 digest of each cell, so later incrementals need no read-back.
      opts.onCell?.(c.offset / CELL, cellTag(data));
      const [piece] = toShardPieces({ start: c.offset, end: c.offset + c.length }, disk.shardSize);
      for (const run of nonZeroRuns(data)) {
        await call(() => store.putPages(shardName(piece!.shard), piece!.local.start + run.start, data.subarray(run.start, run.end)));
        stats.bytesUploaded += run.end - run.start;
      }
      opts.onProgress?.(stats);
    },
    opts.isCancelled,
  );
  return stats;
}

function nonZeroRuns(data: Buffer): { start: number; end: number }[] {
  const zero = Buffer.alloc(WRITE_GRAIN);
  const out: { start: number; end: number }[] = [];
  for (let o = 0; o < data.length; o += WRITE_GRAIN) {
    const e = Math.min(data.length, o + WRITE_GRAIN);
    if (data.subarray(o, e).equals(zero.subarray(0, e - o))) continue;
    const last = out[out.length - 1];
    if (last && last.end === o) last.end = e;
    else out.push({ start: o, end: e });
  }
  return out;
}
