import type { BackupStore, TargetDisk } from '../ports/storage';
import { type RetryOptions, pacedCalls } from './pacer';
import { isAllZero, sha256, type DiskManifest } from './manifest';
import { coalesce, len, planCells, windows, type Range } from '../domain/ranges';
import { runPool } from './copy-segment';
import { listSplitting } from './range-listing';

export interface RestoreDiskPlan {
  diskSize: number;
  shardSize: number;
  /** Shard blob name and the blob snapshot that holds this recovery point, per shard index. */
  shards: { name: string; snapshot: string }[];
  manifest: DiskManifest;
  concurrency: number;
  rangeWindow: number;
  retry?: RetryOptions;
}

export interface RestoreStats {
  bytesRead: number;
  bytesWritten: number;
  putRequests: number;
  cellsVerified: number;
}

export class ManifestMismatchError extends Error {
  constructor(readonly cells: number[]) {
    super(`restored content differs from the recovery point's manifest in ${cells.length} cell(s), first at byte ${cells[0]! * 4 * 1024 * 1024}`);
    this.name = 'ManifestMismatchError';
  }
}

/** The valid ranges of every shard snapshot of the point, as disk offsets. */
async function listValid(plan: RestoreDiskPlan, store: BackupStore, call: <T>(fn: () => Promise<T>) => Promise<T>): Promise<Range[]> {
  const valid: Range[] = [];
  for (const [index, shard] of plan.shards.entries()) {
    const base = index * plan.shardSize;
    const shardLen = Math.min(plan.shardSize, plan.diskSize - base);
    for (const w of windows({ start: 0, end: shardLen }, plan.rangeWindow)) {
      // Split on timeouts like the backup's listing: one window that times out must not fail a restore or a verify.
      await listSplitting(w, (x) => call(() => store.shardSnapshotRanges(shard.name, shard.snapshot, x)), (rs) => {
        for (const r of rs) valid.push({ start: r.start + base, end: r.end + base });
      });
    }
  }
  return valid;
}

/**
 * Writes one disk of a recovery point into a target disk: only the valid ranges of the shard snapshots are
 * read and written; every 4 MiB cell is hashed on the way and checked against the manifest, so a restore
 * that reports success wrote exactly the image the backup recorded.
 */
export async function restoreDisk(
  plan: RestoreDiskPlan,
  store: BackupStore,
  target: TargetDisk,
  opts: { isCancelled?: () => Promise<boolean>; onProgress?: (s: RestoreStats) => void } = {},
): Promise<RestoreStats> {
  const stats: RestoreStats = { bytesRead: 0, bytesWritten: 0, putRequests: 0, cellsVerified: 0 };
  const { limiter, call } = pacedCalls(plan.concurrency, plan.retry);

  const valid = await listValid(plan, store, call);
  const cells = planCells(coalesce(valid), [], plan.diskSize);
  const seen = new Set<number>();
  const mismatched: number[] = [];

  await runPool(cells, limiter, async (cell) => {
    const shardIndex = Math.floor(cell.span.start / plan.shardSize);
    const shard = plan.shards[shardIndex]!;
    const base = shardIndex * plan.shardSize;
    const read = (r: Range): Promise<Buffer> => call(() => store.readShardSnapshot(shard.name, shard.snapshot, { start: r.start - base, end: r.end - base }));
    // A cell valid end to end is the one read itself: no second buffer and no copy.
    const whole = cell.changed.length === 1 && cell.changed[0]!.start === cell.span.start && cell.changed[0]!.end === cell.span.end;
    let image: Buffer;
    if (whole) {
      image = await read(cell.span);
      stats.bytesRead += image.length;
    } else {
      image = Buffer.alloc(len(cell.span));
      for (const r of cell.changed) {
        const data = await read(r);
        stats.bytesRead += data.length;
        data.copy(image, r.start - cell.span.start);
      }
    }
    const expected = plan.manifest.cells.get(cell.index);
    const zero = isAllZero(image);
    if (zero ? expected !== undefined : !expected || !sha256(image).equals(expected)) mismatched.push(cell.index);
    seen.add(cell.index);
    stats.cellsVerified++;
    for (const r of cell.changed) {
      const part = image.subarray(r.start - cell.span.start, r.end - cell.span.start);
      if (zero || (!whole && isAllZero(part))) continue; // a new upload disk reads as zeros already
      await call(() => target.putPages(r.start, part));
      stats.bytesWritten += part.length;
      stats.putRequests++;
    }
    opts.onProgress?.(stats);
  }, opts.isCancelled);
  for (const index of plan.manifest.cells.keys()) if (!seen.has(index)) mismatched.push(index);
  if (mismatched.length > 0) throw new ManifestMismatchError(mismatched.sort((a, b) => a - b));
  return stats;
}
