import { z } from 'zod';
import { QUEUES } from '../../config';
import { PermanentStepError, pointNotFound } from '../../errors';
import type { GuestStateCopy, Job, ProtectedItem, RecoveryPoint, RecoveryPointDisk } from '../../domain/model';
import { CELL, type Range } from '../../domain/ranges';
import type { DiskManifest } from '../../engine/manifest';
import { openManifest, type ManifestReader } from '../../engine/manifest-parts';
import { roundRobin } from '../../engine/shards';
import { JobMessage } from '../../jobs/kind';
import type { Deps } from '../../jobs/deps';
import { updateJob } from '../../jobs/jobs';
import { manifestPartBlob, segmentKey } from '../../store/layout';
import { paramsOf } from '../../jobs/params';
import { restoreParams } from './params';

/**
 * A restore runs like a backup copy: a start step plans the disks and creates the upload disks, one message per
 * segment of each disk restores it (checkpointed, in invocations the host's timeout cannot cut: AZURE-FIDELITY
 * B3), and a finish step seals the uploads once every segment is done and verified.
 */
export const RESTORE_QUEUES = { start: QUEUES.restore, segment: 'vmb-restore-segment', finish: 'vmb-restore-finish' } as const;

export const SegmentMessage = JobMessage.extend({ diskKey: z.string().min(1).max(64), segment: z.number().int().min(0) });
export type SegmentMessage = z.infer<typeof SegmentMessage>;

/** One disk the restore writes: fixed by the start step, kept on the job's result. */
export interface RestoreTarget {
  diskKey: string;
  name: string;
  lun: number;
  /** The upload disk being written. */
  diskId: string;
  sizeBytes: number;
  segmentSize: number;
  segments: number;
  /** The point's shard size (restores planned before it was recorded go in disk order). */
  shardSize?: number;
  /** Bytes of the cells the manifest holds: what the restore of this disk covers. */
  dataBytes: number;
  /** The VM guest state to upload with the disk (an UploadPreparedSecure disk of a Trusted Launch OS disk). */
  guestState?: GuestStateCopy;
  /** Created Entra-only (dataAccessAuthMode AzureActiveDirectory, as its source): uploaded with an Entra token too. */
  entraDataAccess?: boolean;
}

export interface RestoredDisk {
  diskKey: string;
  lun: number;
  diskId: string;
  bytesWritten: number;
  dataBytes: number;
}

export function targetsOf(job: Job): RestoreTarget[] | undefined {
  return job.result.targets as RestoreTarget[] | undefined;
}

export function restoredOf(job: Job): RestoredDisk[] {
  return [...((job.result.disks as RestoredDisk[] | undefined) ?? [])];
}

export async function getPoint(deps: Deps, itemKey: string, pointId: string): Promise<RecoveryPoint> {
  const p = await deps.repos.points.get(itemKey, pointId);
  if (!p) throw pointNotFound(pointId);
  return p.doc;
}

export async function openPointManifest(deps: Deps, disk: RecoveryPointDisk): Promise<ManifestReader> {
  const reader = await openManifest((n) => deps.store.getObject(n), disk.manifest, manifestPartBlob);
  if (!reader) throw new PermanentStepError('ManifestMissing', `The manifest of disk '${disk.name}' is missing from the backup storage.`, 'Restore another recovery point and run verify on this one.');
  return reader;
}

/** The manifest's cells inside `span` (a restore segment reads only the part that covers it). */
export async function loadManifest(deps: Deps, disk: RecoveryPointDisk, span: Range): Promise<DiskManifest> {
  return { diskSize: disk.sizeBytes, cells: await (await openPointManifest(deps, disk)).cells(span) };
}

/** Bytes of the point's data on one disk: every non-zero cell, the last one as long as the disk leaves it. */
export async function manifestDataBytes(deps: Deps, disk: RecoveryPointDisk): Promise<number> {
  const reader = await openPointManifest(deps, disk);
  const last = Math.ceil(disk.sizeBytes / CELL) - 1;
  const tail = await reader.cells({ start: last * CELL, end: disk.sizeBytes });
  return reader.count * CELL - (tail.has(last) ? CELL - (disk.sizeBytes - last * CELL) : 0);
}

/**
 * Bytes of the manifest's cells below each cell index of one range, for progress that counts each verified
 * cell once however often a redelivery rewrites it.
 */
export function dataBytesBelow(manifest: DiskManifest, diskSize: number, from: number, to: number): (nextCell: number) => number {
  const cells = [...manifest.cells.keys()].filter((i) => i * CELL >= from && i * CELL < to).sort((a, b) => a - b);
  const cum = [0];
  for (const i of cells) cum.push(cum[cum.length - 1]! + Math.max(0, Math.min(CELL, diskSize - i * CELL)));
  return (nextCell) => {
    let lo = 0,
      hi = cells.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (cells[mid]! < nextCell) lo = mid + 1;
      else hi = mid;
    }
    return cum[lo]!;
  };
}

/** Where the restored disks go: the item's subscription and region unless a new-VM restore named others. */
export function restoreScope(job: Job, item: ProtectedItem): { subscriptionId: string; location: string } {
  const { targetSubscriptionId: sub, targetLocation: loc } = paramsOf(job, restoreParams);
  return { subscriptionId: sub ?? item.subscriptionId, location: loc ?? item.location };
}

export function restoreDiskName(job: Job, vmName: string, diskKey: string): string {
  return `${vmName}-${diskKey}-r${job.jobId.slice(-8)}`.slice(0, 80);
}

export function restoreDiskId(job: Job, subscriptionId: string, vmName: string, diskKey: string): string {
  return `/subscriptions/${subscriptionId}/resourceGroups/${paramsOf(job, restoreParams).targetResourceGroup}/providers/Microsoft.Compute/disks/${restoreDiskName(job, vmName, diskKey)}`;
}

/** Sends a message for every segment without a Done row, or finish when there is none. */
export async function enqueuePendingSegments(deps: Deps, job: Job): Promise<void> {
  const done = new Set((await deps.repos.segments.all(job.jobId)).filter((s) => s.state === 'Done').map((s) => s.segmentKey));
  if (done.size > job.segmentsDone) {
    await updateJob(deps, job.jobId, (j) => {
      if (j.segmentsDone >= done.size) return false;
      j.segmentsDone = Math.min(j.segmentsTotal, done.size);
    });
  }
  const q = deps.queues.queue(RESTORE_QUEUES.segment);
  const sends: Promise<void>[] = [];
  // Shards are separate page blobs: the segments go out round robin over them, so they are read in parallel.
  const all = (targetsOf(job) ?? []).flatMap((t) => Array.from({ length: t.segments }, (_, n) => ({ t, n })));
  for (const { t, n } of roundRobin(all, ({ t, n }) => `${t.diskKey}/${t.shardSize ? Math.floor((n * t.segmentSize) / t.shardSize) : 0}`)) {
    if (!done.has(segmentKey(t.diskKey, n))) sends.push(q.send({ jobId: job.jobId, diskKey: t.diskKey, segment: n } satisfies SegmentMessage));
  }
  await Promise.all(sends);
  if (sends.length === 0) await deps.queues.queue(RESTORE_QUEUES.finish).send({ jobId: job.jobId });
}
