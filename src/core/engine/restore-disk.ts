import type { BackupStore, TargetDisk } from '../ports/storage';
import { type RetryOptions, pacedCalls } from './pacer';
import { isAllZero, type DiskManifest } from './manifest';
import { digestMatches } from './cell-digest';
import { CELL, clip, coalesce, len, planCells, windows, type CellWork, type Range } from '../domain/ranges';
import { runPool } from './copy-segment';
import { listSplitting } from './range-listing';

export interface RestoreDiskPlan {
  diskSize: number;
  shardSize: number;
  /** Shard blob name and the blob snapshot that holds this recovery point, per shard index. */
  shards: { name: string; snapshot: string }[];
  /** The manifest's cells, at least those inside `span`. */
  manifest: DiskManifest;
  concurrency: number;
  rangeWindow: number;
  retry?: RetryOptions;
  /**
   * The part of the disk to restore, cell-aligned at its start (default: all of it). A segmented restore passes
   * one segment, or what is left of it after a checkpoint: only that part is listed, read, checked and written.
   */
  span?: Range;
  /** Cells between two checkpoints (default 16). */
  checkpointEveryCells?: number;
}

export interface RestoreHooks {
  isCancelled?: () => Promise<boolean>;
  onProgress?: (s: RestoreStats) => void;
  /** Every cell below nextCell in the span is written and matched its manifest entry. */
  saveCheckpoint?: (nextCell: number, stats: RestoreStats) => Promise<void>;
  /**
   * Asked before each cell is started, with the bytes of the cell: false stops the restore cleanly (cells in
   * flight finish) so the caller can checkpoint and go on in a fresh invocation before the host's timeout.
   */
  admit?: (cellBytes: number) => boolean;
}

export interface RestoreOutcome extends RestoreStats {
  /** First cell of the span not yet restored: span.end's cell when complete. */
  nextCell: number;
  complete: boolean;
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
async function listValid(plan: RestoreDiskPlan, span: Range, store: BackupStore, call: <T>(fn: () => Promise<T>) => Promise<T>): Promise<Range[]> {
  const valid: Range[] = [];
  for (const [index, shard] of plan.shards.entries()) {
    const base = index * plan.shardSize;
    const shardLen = Math.min(plan.shardSize, plan.diskSize - base);
    // Only the part of this shard inside the span (a restore segment) is listed.
    const local = { start: Math.max(0, span.start - base), end: Math.min(shardLen, span.end - base) };
    if (local.end <= local.start) continue;
    for (const w of windows(local, plan.rangeWindow)) {
      // Split on timeouts like the backup's listing: one window that times out must not fail a restore or a verify.
      await listSplitting(
        w,
        (x) => call(() => store.shardSnapshotRanges(shard.name, shard.snapshot, x)),
        (rs) => {
          for (const r of rs) valid.push({ start: r.start + base, end: r.end + base });
        },
      );
    }
  }
  return valid;
}

/**
 * Writes one disk of a recovery point into a target disk: only the valid ranges of the shard snapshots are
 * read and written; every 4 MiB cell is hashed on the way and checked against the manifest, so a restore
 * that reports success wrote exactly the image the backup recorded.
 */
export async function restoreDisk(plan: RestoreDiskPlan, store: BackupStore, target: TargetDisk, opts: RestoreHooks = {}): Promise<RestoreOutcome> {
  const stats: RestoreStats = { bytesRead: 0, bytesWritten: 0, putRequests: 0, cellsVerified: 0 };
  const { limiter, call } = pacedCalls(plan.concurrency, plan.retry);
  const span = plan.span ?? { start: 0, end: plan.diskSize };

  const valid = await listValid(plan, span, store, call);
  const cells = planCells(clip(coalesce(valid), span), [], plan.diskSize);
  const seen = new Set<number>();
  const mismatched: number[] = [];
  const inSpan = (i: number): boolean => i * CELL >= span.start && i * CELL < span.end;
  const planned = new Set(cells.map((c) => c.index));
  // A manifest cell with no valid range is a mismatch found only at the end: no checkpoint may pass it.
  let endCell = Math.ceil(span.end / CELL);
  for (const index of plan.manifest.cells.keys()) if (inSpan(index) && !planned.has(index)) endCell = Math.min(endCell, index);
  const progress = checkpointer(
    cells.map((c) => c.index),
    endCell,
    plan.checkpointEveryCells ?? 16,
    stats,
    opts.saveCheckpoint,
  );
  const admitted = admitInOrder(cells, opts.admit);

  await runPool(
    cells,
    limiter,
    async (cell) => {
      if (!admitted.has(cell)) throw STOP;
      const bad = await restoreCell(cell, plan, store, target, call, stats);
      if (bad) mismatched.push(cell.index);
      seen.add(cell.index);
      opts.onProgress?.(stats);
      // A cell that did not match is never checkpointed past: a resume meets it again and fails the same way.
      if (!bad) await progress.done(cell.index);
    },
    opts.isCancelled,
  ).catch((err: unknown) => {
    if (err !== STOP) throw err;
  });
  await progress.flush();
  const nextCell = progress.next();
  const stopped = admitted.stopped();
  const checkedUpTo = stopped ? nextCell : Infinity;
  for (const index of plan.manifest.cells.keys()) if (inSpan(index) && index < checkedUpTo && !seen.has(index)) mismatched.push(index);
  if (mismatched.length > 0) throw new ManifestMismatchError(mismatched.sort((a, b) => a - b));
  return { ...stats, nextCell: stopped ? nextCell : Math.ceil(span.end / CELL), complete: !stopped };
}

type Caller = <T>(fn: () => Promise<T>) => Promise<T>;

/** Reads one cell from the shard snapshot, checks it against the manifest and writes its data; true when it did not match. */
async function restoreCell(cell: CellWork, plan: RestoreDiskPlan, store: BackupStore, target: TargetDisk, call: Caller, stats: RestoreStats): Promise<boolean> {
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
  const bad = zero ? expected !== undefined : !expected || !digestMatches(expected, image);
  stats.cellsVerified++;
  for (const r of cell.changed) {
    const part = image.subarray(r.start - cell.span.start, r.end - cell.span.start);
    if (zero || (!whole && isAllZero(part))) continue; // a new upload disk reads as zeros already
    await call(() => target.putPages(r.start, part));
    stats.bytesWritten += part.length;
    stats.putRequests++;
  }
  return bad;
}

/**
 * The budget admits cells in disk order whatever order the workers ask in, so what an invocation did is a
 * prefix of its cells and the checkpoint after it moves forward.
 */
function admitInOrder(cells: readonly CellWork[], admit?: (bytes: number) => boolean) {
  const position = new Map(cells.map((c, i) => [c, i]));
  let upTo = -1;
  let stopAt = Infinity;
  return {
    has(cell: CellWork): boolean {
      const p = position.get(cell)!;
      while (upTo < p && stopAt === Infinity) {
        if (admit && !admit(len(cells[upTo + 1]!.span))) stopAt = upTo + 1;
        else upTo++;
      }
      return p < stopAt;
    },
    stopped: (): boolean => stopAt !== Infinity,
  };
}

/** Thrown by a cell the budget did not admit: stops the pool without being an error. */
const STOP = Symbol('restore budget reached');

/**
 * Tracks the first cell not yet done (cells finish out of order) and saves a checkpoint every `every` cells,
 * one save at a time, so a redelivery resumes there instead of at byte 0.
 */
function checkpointer(order: number[], endCell: number, every: number, stats: RestoreStats, save?: (nextCell: number, s: RestoreStats) => Promise<void>) {
  const done = new Set<number>();
  let pos = 0;
  let since = 0;
  let saving: Promise<void> = Promise.resolve();
  const next = (): number => {
    while (pos < order.length && done.has(order[pos]!)) pos++;
    return Math.min(endCell, pos < order.length ? order[pos]! : endCell);
  };
  return {
    next,
    async done(index: number): Promise<void> {
      done.add(index);
      if (!save || ++since < every) return;
      since = 0;
      const at = next();
      saving = saving.then(() => save(at, { ...stats }));
      await saving;
    },
    flush: (): Promise<void> => saving,
  };
}
