import type { BackupStore, RangeDiff, SourceSnapshot } from '../ports/storage';
import { type AdaptiveLimiter, type RetryOptions, pacedCalls } from './pacer';
import { listSplitting } from './range-listing';
import { isAllZero, sha256, type CellDelta } from './manifest';
import { coalesce, len, planCells, rangesCover, type CellWork, type Range } from '../domain/ranges';
import { toShardPieces } from './shards';
import { CancelledError, newCopyStats, type CopyStats } from './stats';

export interface SegmentCopyPlan {
  segment: Range;
  diskSize: number;
  shardSize: number;
  /** Blob name of shard n: shardName(n). */
  shardName: (index: number) => string;
  /** SAS URL of the base snapshot for a diff; absent = full copy of the valid ranges. */
  baseSasUrl?: string;
  /** Cells that are non-zero in the previous recovery point; others are known to be zero in the shards. */
  previousCells: ReadonlySet<number>;
  /** Resume point: every planned cell with index below this is done and in `delta`. */
  resumeFromCell?: number;
  resumeDelta?: CellDelta;
  concurrency: number;
  diffWindow: number;
  retry?: RetryOptions;
  checkpointEveryCells?: number;
}

export interface SegmentCopyDeps {
  source: SourceSnapshot;
  store: BackupStore;
  /** Called when the source answers 403 (SAS expired or revoked): returns a fresh reader. */
  renewSource?: () => Promise<SourceSnapshot>;
  saveCheckpoint?: (nextCell: number, delta: CellDelta, stats: CopyStats) => Promise<void>;
  isCancelled?: () => Promise<boolean>;
  onProgress?: (stats: CopyStats) => void;
}

export interface SegmentCopyResult {
  delta: CellDelta;
  stats: CopyStats;
}

/**
 * Copies one segment of a disk: only changed pages are read from the source; each touched 4 MiB cell is
 * rebuilt in memory (from the previous image only where the change does not cover it and the cell was not
 * zero before), written as Put Page / Clear Pages into its shard and hashed for the manifest.
 */
export async function copySegment(plan: SegmentCopyPlan, deps: SegmentCopyDeps): Promise<SegmentCopyResult> {
  const stats = newCopyStats();
  const { limiter, call } = pacedCalls(plan.concurrency, plan.retry, () => { stats.throttled++; });
  let source = deps.source;
  const sourceCall = async <T>(fn: (s: SourceSnapshot) => Promise<T>): Promise<T> => {
    try {
      return await call(() => fn(source));
    } catch (err) {
      if (deps.renewSource && (err as { statusCode?: number }).statusCode === 403) {
        source = await deps.renewSource();
        stats.sasRenewals++;
        return call(() => fn(source));
      }
      throw err;
    }
  };

  const diff = await listChanges(plan, sourceCall, stats);
  const cells = planCells(diff.changed, diff.cleared, plan.diskSize).filter((c) => c.index >= (plan.resumeFromCell ?? 0));
  stats.changedBytes = diff.changed.reduce((n, r) => n + len(r), 0);
  stats.cellsPlanned = cells.length;

  const delta: CellDelta = new Map(plan.resumeDelta ?? []);
  const done = new Set<number>();
  let nextPos = 0; // position in `cells` below which everything is done
  let sinceCheckpoint = 0;
  let checkpointing: Promise<void> = Promise.resolve();

  const advance = (): void => {
    while (nextPos < cells.length && done.has(cells[nextPos]!.index)) nextPos++;
  };

  await runPool(cells, limiter, async (cell) => {
    delta.set(cell.index, await copyCell(cell, plan, sourceCall, call, deps.store, stats));
    done.add(cell.index);
    stats.cellsDone++;
    deps.onProgress?.(stats);
    advance();
    if (deps.saveCheckpoint && ++sinceCheckpoint >= (plan.checkpointEveryCells ?? 64)) {
      sinceCheckpoint = 0;
      const nextCell = nextPos < cells.length ? cells[nextPos]!.index : plan.segment.end;
      const snapshot = new Map([...delta].filter(([i]) => i < nextCell));
      checkpointing = checkpointing.then(() => deps.saveCheckpoint!(nextCell, snapshot, stats));
      await checkpointing;
    }
  }, deps.isCancelled);
  await checkpointing;
  return { delta, stats };
}

type Caller = <T>(fn: () => Promise<T>) => Promise<T>;
type SourceCaller = <T>(fn: (s: SourceSnapshot) => Promise<T>) => Promise<T>;

async function listChanges(plan: SegmentCopyPlan, sourceCall: SourceCaller, stats: CopyStats): Promise<RangeDiff> {
  const changed: Range[] = [];
  const cleared: Range[] = [];
  // A fragmented disk can make one large window time out: it is asked again in halves, as Azure recommends.
  const ask = (w: Range): Promise<void> => listSplitting(w, async (x): Promise<RangeDiff> => {
    stats.rangeRequests++;
    if (plan.baseSasUrl) return sourceCall((s) => s.diff(x, plan.baseSasUrl!));
    return { changed: await sourceCall((s) => s.validRanges(x)), cleared: [] };
  }, (d) => {
    changed.push(...d.changed);
    cleared.push(...d.cleared);
  });
  // Sparse regions come back nearly empty, so the window grows fourfold after each sparse answer (up to
  // 64x the configured one): listing a 1 TiB disk with 64 MiB written must not cost 2,000 requests.
  let size = plan.diffWindow;
  for (let start = plan.segment.start; start < plan.segment.end;) {
    const w = { start, end: Math.min(plan.segment.end, start + size) };
    const before = changed.length + cleared.length;
    await ask(w);
    const found = changed.length + cleared.length - before;
    start = w.end;
    size = found < 256 ? Math.min(size * 4, plan.diffWindow * 64) : plan.diffWindow;
  }
  return { changed: coalesce(changed), cleared: coalesce(cleared) };
}

async function copyCell(
  cell: CellWork,
  plan: SegmentCopyPlan,
  sourceCall: SourceCaller,
  call: Caller,
  store: BackupStore,
  stats: CopyStats,
): Promise<Buffer | null> {
  const { span } = cell;
  const covered = rangesCover([...cell.changed, ...cell.cleared], span);
  const [piece] = toShardPieces(span, plan.shardSize);
  const shard = plan.shardName(piece!.shard);
  const shardBase = piece!.shard * plan.shardSize;
  // A cell changed end to end (every cell of a full copy) is the one read itself: no second 4 MiB buffer,
  // no copy, half the allocations the garbage collector has to chase at concurrency 16.
  const whole = cell.changed.length === 1 && cell.cleared.length === 0 && cell.changed[0]!.start === span.start && cell.changed[0]!.end === span.end;
  let image: Buffer;
  if (whole) {
    image = await sourceCall((s) => s.read(span));
    stats.sourceBytesRead += image.length;
    stats.sourceReads++;
  } else {
    if (!covered && plan.previousCells.has(cell.index)) {
      image = await call(() => store.readShard(shard, { start: span.start - shardBase, end: span.end - shardBase }));
      stats.backupBytesRead += image.length;
    } else {
      image = Buffer.alloc(len(span));
    }
    for (const r of cell.cleared) image.fill(0, r.start - span.start, r.end - span.start);
    for (const r of cell.changed) {
      const data = await sourceCall((s) => s.read(r));
      stats.sourceBytesRead += data.length;
      stats.sourceReads++;
      data.copy(image, r.start - span.start);
    }
  }
  const imageIsZero = isAllZero(image);
  // A resume rebuilds the whole cell from the (possibly half-written) shard plus every change, so a cell cut
  // off between two writes still ends byte-exact.
  for (const r of cell.changed) {
    const part = image.subarray(r.start - span.start, r.end - span.start);
    const local = { start: r.start - shardBase, end: r.end - shardBase };
    if (imageIsZero || (!whole && isAllZero(part))) {
      await call(() => store.clearPages(shard, local));
      stats.clearRequests++;
      stats.zeroBytesSkipped += part.length;
    } else {
      await call(() => store.putPages(shard, local.start, part));
      stats.putRequests++;
      stats.bytesUploaded += part.length;
    }
  }
  for (const r of cell.cleared) {
    await call(() => store.clearPages(shard, { start: r.start - shardBase, end: r.end - shardBase }));
    stats.clearRequests++;
  }
  return imageIsZero ? null : sha256(image);
}

/** Runs `work` over items with at most limiter.limit in flight; the first failure stops new work. */
export async function runPool<T>(items: readonly T[], limiter: AdaptiveLimiter, work: (item: T) => Promise<void>, isCancelled?: () => Promise<boolean>): Promise<void> {
  let next = 0;
  let failure: unknown;
  const worker = async (): Promise<void> => {
    while (failure === undefined && next < items.length) {
      const item = items[next++]!;
      try {
        // Checked before each item, so a cancel stops the copy within one cell per worker; items in flight finish.
        if (isCancelled && (await isCancelled())) throw new CancelledError();
        await limiter.run(() => work(item));
      } catch (err) {
        failure ??= err;
      }
    }
  };
  const n = Math.max(1, Math.min(items.length, limiter.limit));
  await Promise.all(Array.from({ length: n }, worker));
  if (failure !== undefined) throw failure;
}
