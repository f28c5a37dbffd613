import type { RecoveryPoint, RecoveryPointDisk } from '../../domain/model';
import { CELL, type Range } from '../../domain/ranges';
import { imageDigest, openManifest, sumCells, type ManifestReader } from '../../engine/manifest-parts';
import { ManifestMismatchError, restoreDisk } from '../../engine/restore-disk';
import { ManifestFormatError } from '../../engine/manifest';
import { roundRobin, segmentLayout } from '../../engine/shards';
import { manifestPartBlob } from '../../store/layout';
import type { Deps } from '../../jobs/deps';

export interface DiskVerdict {
  diskKey: string;
  ok: boolean;
  problem?: string;
}

/**
 * How far a verify has got, saved on its job after every few spans: a delivery that dies (or runs out of its
 * invocation budget) is followed by one that starts here. The lane sum of a disk's cells is order-free, so it
 * is carried across deliveries as it stands.
 */
export interface VerifyCheckpoint {
  /** The disk being read (index into the point's disks) and its next span, in the order diskSpans gives. */
  disk: number;
  span: number;
  /** Lane sum (hex) and differing cells of the current disk's spans read so far. */
  sum: string;
  bad: number;
  /** Data bytes (manifest cells x 4 MiB) and spans read over all disks: the job's progress. */
  bytes: number;
  spans: number;
  /** The verdicts of the disks read to the end. */
  disks: DiskVerdict[];
}

const ZERO = Buffer.alloc(32).toString('hex');
export const firstCheckpoint = (): VerifyCheckpoint => ({ disk: 0, span: 0, sum: ZERO, bad: 0, bytes: 0, spans: 0, disks: [] });

/** Spans verified at once, taken round robin over the shards (Azure serves each page blob at up to 60 MiB/s). */
const SPANS_AT_ONCE = 4;

/** One manifest part (format 2), or one segment-sized span (format 1), taken round robin over the shards. */
export function diskSpans(d: RecoveryPointDisk, reader: ManifestReader, segmentSize: number): Range[] {
  const spanSize = (reader.partCells ?? segmentSize / CELL) * CELL;
  return roundRobin(segmentLayout(d.sizeBytes, spanSize), (s) => String(Math.floor(s.start / d.shardSize)));
}

export const openDiskManifest = (deps: Deps, d: RecoveryPointDisk): Promise<ManifestReader | undefined> => openManifest((n) => deps.store.getObject(n), d.manifest, manifestPartBlob);

export interface SliceHooks {
  /** Whether one more span of this many data bytes fits this delivery (the first always does). */
  admit(bytes: number): boolean;
  /** Saves `next` if the job still stands at `prev`; false when another delivery moved it on. */
  save(prev: VerifyCheckpoint, next: VerifyCheckpoint): Promise<boolean>;
}

/**
 * Verifies from `cp` on, a few spans at a time, until every disk is read or the budget says stop. Returns the
 * checkpoint reached (done when its disk is past the last), or undefined when another delivery of the same job
 * saved first: that one goes on, this one stops.
 */
export async function verifySlice(deps: Deps, point: RecoveryPoint, cp: VerifyCheckpoint, hooks: SliceHooks): Promise<VerifyCheckpoint | undefined> {
  let cur = cp;
  while (cur.disk < point.disks.length) {
    const d = point.disks[cur.disk]!;
    const next = await nextStep(deps, d, cur, hooks.admit);
    if (!next) return cur;
    if (!(await hooks.save(cur, next))) return undefined;
    cur = next;
  }
  return cur;
}

/** A manifest that is missing or cannot be read is that disk's verdict, not the job's failure. */
async function nextStep(deps: Deps, d: RecoveryPointDisk, cur: VerifyCheckpoint, admit: (bytes: number) => boolean): Promise<VerifyCheckpoint | undefined> {
  let left = 0;
  try {
    const reader = await openDiskManifest(deps, d);
    if (!reader) return endDisk(cur, { diskKey: d.diskKey, ok: false, problem: 'manifest missing' }, 0);
    left = Math.max(0, diskSpans(d, reader, deps.config.copy.segmentSize).length - cur.span);
    return await diskStep(deps, d, reader, cur, admit);
  } catch (err) {
    if (!(err instanceof ManifestFormatError)) throw err;
    return endDisk(cur, { diskKey: d.diskKey, ok: false, problem: `the manifest cannot be read (${err.message})` }, left);
  }
}

function endDisk(cur: VerifyCheckpoint, verdict: DiskVerdict, spansLeft: number): VerifyCheckpoint {
  return { disk: cur.disk + 1, span: 0, sum: ZERO, bad: 0, bytes: cur.bytes, spans: cur.spans + spansLeft, disks: [...cur.disks, verdict] };
}

/** The next few spans of one disk, or its verdict once all are read; undefined when none fits the budget. */
async function diskStep(deps: Deps, d: RecoveryPointDisk, reader: ManifestReader, cur: VerifyCheckpoint, admit: (bytes: number) => boolean): Promise<VerifyCheckpoint | undefined> {
  const spans = diskSpans(d, reader, deps.config.copy.segmentSize);
  if (cur.span >= spans.length) {
    const sum = Buffer.from(cur.sum, 'hex');
    // The parts read must add up to the image the point recorded: a part swapped for another disk's, or left
    // over from an older point, matches its own data but not this digest.
    const digestOk = (reader.legacyDigest ?? imageDigest(d.sizeBytes, sum)) === d.digest && (!reader.sum || reader.sum.equals(sum));
    const verdict: DiskVerdict =
      cur.bad > 0
        ? { diskKey: d.diskKey, ok: false, problem: `${cur.bad} cell(s) differ from the manifest` }
        : !digestOk
          ? { diskKey: d.diskKey, ok: false, problem: "the manifest does not add up to the point's digest" }
          : { diskKey: d.diskKey, ok: true };
    return endDisk(cur, verdict, 0);
  }
  const group: { span: Range; cells: Map<number, Buffer> }[] = [];
  for (const span of spans.slice(cur.span, cur.span + SPANS_AT_ONCE)) {
    const cells = await reader.cells(span);
    if (!admit(cells.size * CELL)) break;
    group.push({ span, cells });
  }
  if (group.length === 0) return undefined;
  const sum = Buffer.from(cur.sum, 'hex');
  const bad = await Promise.all(
    group.map((g) => {
      sumCells(g.cells, sum);
      return badCells(deps, d, g.span, g.cells);
    }),
  );
  const bytes = group.reduce((n, g) => n + g.cells.size * CELL, 0);
  return { ...cur, span: cur.span + group.length, sum: sum.toString('hex'), bad: cur.bad + bad.reduce((a, b) => a + b, 0), bytes: cur.bytes + bytes, spans: cur.spans + group.length };
}

/** Reads one span of the shard snapshots and hashes it against its cells: reading and hashing is the check. */
async function badCells(deps: Deps, d: RecoveryPointDisk, span: Range, cells: Map<number, Buffer>): Promise<number> {
  const per = Math.max(1, Math.floor(deps.config.copy.concurrency / SPANS_AT_ONCE));
  try {
    await restoreDisk(
      { diskSize: d.sizeBytes, shardSize: d.shardSize, shards: d.shards, manifest: { diskSize: d.sizeBytes, cells }, span, concurrency: per, rangeWindow: deps.config.copy.diffWindow },
      deps.store,
      { putPages: async () => {} }, // nothing is written
    );
    return 0;
  } catch (err) {
    if (!(err instanceof ManifestMismatchError)) throw err;
    return err.cells.length;
  }
}

/** Spans of every disk whose manifest opens: the job's segment total. */
export async function countSpans(deps: Deps, point: RecoveryPoint): Promise<{ spans: number; bytes: number }> {
  let spans = 0,
    bytes = 0;
  for (const d of point.disks) {
    const reader = await openDiskManifest(deps, d).catch(() => undefined);
    if (!reader) continue;
    spans += diskSpans(d, reader, deps.config.copy.segmentSize).length;
    bytes += reader.count * CELL;
  }
  return { spans, bytes };
}
