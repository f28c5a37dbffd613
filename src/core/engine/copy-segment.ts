import type { BackupStore, RangeDiff, SourceSnapshot } from '../ports/storage';
import { type AdaptiveLimiter, type RetryOptions, pacedCalls } from './pacer';
import { listSplitting } from './range-listing';
import type { CellDelta } from './manifest';
import { coalesce, len, planCells, type Range } from '../domain/ranges';
import { copyCell, type CostModel, type PreviousImage } from './copy-cell';
import { CancelledError, newCopyStats, type CopyStats } from './stats';

export interface SegmentCopyPlan {
  segment: Range;
  diskSize: number;
  shardSize: number;
  /** Blob name of shard n: shardName(n). */
  shardName: (index: number) => string;
  /** SAS URL of the base snapshot for a diff; absent = full copy of the valid ranges. */
  baseSasUrl?: string;
  /**
   * The previous recovery point (absent for a full copy): the digests of its non-zero cells in this segment (others
   * are zero in the shards) and the blob snapshots to read old bytes from.
   */
  previous?: PreviousImage;
  /** Per-blob request and byte rates the per-cell choice between whole cells and fragments weighs. */
  cost?: CostModel;
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
 * Copies one segment of a disk: only changed pages are read from the source and written into the shard; each
 * touched 4 MiB cell's digest moves forward from the old bytes of just those pages (copy-cell.ts), or the cell
 * is copied whole where that costs fewer request-seconds than its fragments.
 */
export async function copySegment(plan: SegmentCopyPlan, deps: SegmentCopyDeps): Promise<SegmentCopyResult> {
  const stats = newCopyStats();
  const { limiter, call } = pacedCalls(plan.concurrency, plan.retry, () => {
    stats.throttled++;
  });
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

  await runPool(
    cells,
    limiter,
    async (cell) => {
      delta.set(cell.index, await copyCell(cell, { ...plan, store: deps.store, source: sourceCall, call, stats }));
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
    },
    deps.isCancelled,
  );
  await checkpointing;
  return { delta, stats };
}

type SourceCaller = <T>(fn: (s: SourceSnapshot) => Promise<T>) => Promise<T>;

async function listChanges(plan: SegmentCopyPlan, sourceCall: SourceCaller, stats: CopyStats): Promise<RangeDiff> {
  const changed: Range[] = [];
  const cleared: Range[] = [];
  // A fragmented disk can make one large window time out: it is asked again in halves, as Azure recommends.
  const ask = (w: Range): Promise<void> =>
    listSplitting(
      w,
      async (x): Promise<RangeDiff> => {
        stats.rangeRequests++;
        if (plan.baseSasUrl) return sourceCall((s) => s.diff(x, plan.baseSasUrl!));
        return { changed: await sourceCall((s) => s.validRanges(x)), cleared: [] };
      },
      (d) => {
        changed.push(...d.changed);
        cleared.push(...d.cleared);
      },
    );
  // Sparse regions come back nearly empty, so the window grows fourfold after each sparse answer (up to
  // 64x the configured one): listing a 1 TiB disk with 64 MiB written must not cost 2,000 requests.
  let size = plan.diffWindow;
  for (let start = plan.segment.start; start < plan.segment.end; ) {
    const w = { start, end: Math.min(plan.segment.end, start + size) };
    const before = changed.length + cleared.length;
    await ask(w);
    const found = changed.length + cleared.length - before;
    start = w.end;
    size = found < 256 ? Math.min(size * 4, plan.diffWindow * 64) : plan.diffWindow;
  }
  return { changed: coalesce(changed), cleared: coalesce(cleared) };
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
