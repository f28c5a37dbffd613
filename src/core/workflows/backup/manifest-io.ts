import { PermanentStepError } from '../../errors';
import type { BackupDiskPlan, ProtectedItem } from '../../domain/model';
import { CELL, type Range } from '../../domain/ranges';
import type { PreviousImage } from '../../engine/copy-cell';
import type { CellDelta } from '../../engine/manifest';
import { addLanes, decodeHeader, encodeHeader, encodePart, imageDigest, isHeader, openManifest, sumCells, type ManifestReader } from '../../engine/manifest-parts';
import type { Deps } from '../../jobs/deps';
import { manifestBlob, manifestPartBlob, manifestPrefix } from '../../store/layout';
import type { SegmentRow } from '../../store/records';

/** The segment size of a job's disk: one manifest part per segment. */
export const segmentSizeOf = (deps: Deps, d: BackupDiskPlan): number => d.segmentSize ?? deps.config.copy.segmentSize;

export function readManifest(deps: Deps, name: string): Promise<ManifestReader | undefined> {
  return openManifest((n) => deps.store.getObject(n), name, manifestPartBlob);
}

const missing = (what: string): PermanentStepError =>
  new PermanentStepError('ManifestMissing', `The ${what} of the previous recovery point is missing from the backup storage.`, 'Run a verify on the item; the next backup will need a full copy.');

/**
 * What an incremental segment needs of the previous point: the digests of its cells in this segment (read from
 * the part that covers it, not from the whole manifest) and the blob snapshots that hold its old bytes.
 */
export async function previousImage(deps: Deps, item: ProtectedItem | undefined, d: BackupDiskPlan, segment: Range): Promise<PreviousImage | undefined> {
  const known = item?.disks.find((x) => x.diskKey === d.diskKey);
  if (d.full || !known?.lastManifest) return undefined;
  const reader = await readManifest(deps, known.lastManifest);
  if (!reader) throw missing('manifest');
  const point = item?.lastRecoveryPointId ? (await deps.repos.points.get(item.itemKey, item.lastRecoveryPointId))?.doc : undefined;
  const disk = point?.disks.find((x) => x.manifest === known.lastManifest);
  if (!disk) throw missing('record');
  return { diskSize: reader.diskSize, cells: await reader.cells(segment), snapshots: disk.shards.map((s) => s.snapshot) };
}

/** The segment's cells after this backup: the previous ones in its range, the delta applied, clipped to the disk. */
export function segmentCells(previous: PreviousImage | undefined, delta: CellDelta, segment: Range): Map<number, Buffer> {
  const cells = new Map(previous?.cells ?? []);
  for (const [i, h] of delta) h ? cells.set(i, h) : cells.delete(i);
  const last = Math.ceil(segment.end / CELL);
  for (const i of [...cells.keys()]) if (i < segment.start / CELL || i >= last) cells.delete(i);
  return cells;
}

/** Writes the segment's part of the new point's manifest; returns what finalize needs of it. */
export async function writeSegmentPart(
  deps: Deps,
  itemKey: string,
  pointId: string,
  d: BackupDiskPlan,
  index: number,
  segment: Range,
  cells: Map<number, Buffer>,
): Promise<NonNullable<SegmentRow['part']>> {
  const name = manifestPartBlob(manifestBlob(itemKey, pointId, d.diskKey), index);
  const firstCell = segment.start / CELL;
  await deps.store.putObject(name, encodePart({ firstCell, spanCells: Math.ceil(segment.end / CELL) - firstCell, cells }));
  return { cells: cells.size, sum: sumCells(cells).toString('base64') };
}

/**
 * Finalize's part of the manifest: a header from the segments' summaries, so its memory and time do not grow with
 * the disk's cells. A rerun finds the header written and reads it back.
 */
export async function writeManifestHeader(deps: Deps, itemKey: string, pointId: string, d: BackupDiskPlan, parts: NonNullable<SegmentRow['part']>[]): Promise<{ name: string; digest: string }> {
  const name = manifestBlob(itemKey, pointId, d.diskKey);
  const existing = await deps.store.getObject(name);
  if (existing) return { name, digest: imageDigest(d.sizeBytes, decodeHeader(existing).sum) };
  const sum = Buffer.alloc(32);
  for (const p of parts) addLanes(sum, Buffer.from(p.sum, 'base64'));
  const cells = parts.reduce((n, p) => n + p.cells, 0);
  await deps.store.putObject(name, encodeHeader({ diskSize: d.sizeBytes, partCells: segmentSizeOf(deps, d) / CELL, parts: parts.length, cells, sum }));
  return { name, digest: imageDigest(d.sizeBytes, sum) };
}

/**
 * A backup that ends without its point leaves manifest parts under the point's name: they go with it. Never when
 * the point exists (a job that failed after recording it keeps its data).
 */
export async function dropUnfinishedManifest(deps: Deps, job: { jobId: string; itemKey?: string }): Promise<void> {
  if (!job.itemKey || (await deps.repos.points.get(job.itemKey, job.jobId))) return;
  await deps.store.deletePrefix(manifestPrefix(job.itemKey, job.jobId));
}

/**
 * A whole format-2 manifest at once, cut into parts of `partCells` cells (a package import, which has every
 * cell's digest at hand); returns the image digest. Parts first, the header last: a header means it is complete.
 */
export async function writeWholeManifest(deps: Deps, name: string, diskSize: number, partCells: number, cells: ReadonlyMap<number, Buffer>): Promise<string> {
  const parts = Math.max(1, Math.ceil(Math.ceil(diskSize / CELL) / partCells));
  const sum = Buffer.alloc(32);
  for (let p = 0; p < parts; p++) {
    const firstCell = p * partCells;
    const spanCells = Math.min(partCells, Math.ceil(diskSize / CELL) - firstCell);
    const mine = new Map([...cells].filter(([i]) => i >= firstCell && i < firstCell + spanCells));
    sumCells(mine, sum);
    await deps.store.putObject(manifestPartBlob(name, p), encodePart({ firstCell, spanCells, cells: mine }));
  }
  await deps.store.putObject(name, encodeHeader({ diskSize, partCells, parts, cells: cells.size, sum }));
  return imageDigest(diskSize, sum);
}

/** The image digest a format-2 header records, or undefined when `name` holds no format-2 header. */
export async function headerDigest(deps: Deps, name: string): Promise<string | undefined> {
  const buf = await deps.store.getObject(name);
  return buf && isHeader(buf) ? imageDigest(decodeHeader(buf).diskSize, decodeHeader(buf).sum) : undefined;
}

/** Every blob of one disk's manifest: the header and, in format 2, each part (immutability and purge need them all). */
export async function manifestBlobNames(deps: Deps, name: string): Promise<string[]> {
  const buf = await deps.store.getObject(name);
  if (!buf || !isHeader(buf)) return [name];
  const { parts } = decodeHeader(buf);
  return [...Array.from({ length: parts }, (_, p) => manifestPartBlob(name, p)), name];
}
