import { PermanentStepError } from '../../errors';
import type { Job, ProtectedItem, RecoveryPoint } from '../../domain/model';
import type { Deps } from '../../jobs/deps';
import { updateJob } from '../../jobs/jobs';
import { TAGS } from '../../store/layout';
import { instantAvailability, instantRestoreDays, snapshotGetter } from './instant-availability';
import { copyProfile } from './instant-profile';
import { RESTORE_QUEUES, restoreDiskId, restoreDiskName, restoreScope, targetsOf, type RestoredDisk, type RestoreTarget } from './plan';
import { paramsOf } from '../../jobs/params';
import { restoreParams } from './params';

/** Where a restore reads from: the source snapshots (instant), the backup storage (vault), or the first that can. */
export type RestoreSource = 'auto' | 'snapshot' | 'vault';

/** The disks an instant restore creates, recorded before it creates them so a failed job can delete them. */
interface PlannedDisk {
  diskKey: string;
  name: string;
  lun: number;
  diskId: string;
  sizeBytes: number;
  snapshotId: string;
}

/** Every job records its source; one admitted before the default became auto has none and meant the vault. */
export const sourceOf = (job: Job): RestoreSource => paramsOf(job, restoreParams).source ?? 'vault';

const unavailable = (reason: string): PermanentStepError =>
  new PermanentStepError(
    'InstantRestoreUnavailable',
    `The recovery point cannot be restored from its source snapshots: ${reason}`,
    'Restore it with source "vault" (or "auto"), which copies the data from the backup storage.',
  );

/**
 * The start step's instant branch. Decides the source once per job (recorded as result.source); for the
 * snapshot source it creates every disk from its source snapshot (Disks create, createOption Copy: the platform
 * copies, nothing passes through the app), records them as done targets of no segments, and hands over to the
 * finish step (the swap for replaceDisks, the lock, the end). Returns false when the vault copy is to run.
 */
export async function startInstantRestore(deps: Deps, job: Job, item: ProtectedItem, point: RecoveryPoint): Promise<boolean> {
  const wanted = sourceOf(job);
  if (wanted === 'vault' || job.result.source === 'vault') return false;
  if (job.result.source !== 'snapshot') {
    const a = await instantAvailability(point, await instantRestoreDays(deps, item), snapshotGetter(deps), deps.clock(), restoreScope(job, item).location);
    if (!a.available) {
      if (wanted === 'snapshot') throw unavailable(a.reason ?? 'its snapshots are gone.');
      await updateJob(deps, job.jobId, (j) => {
        j.result = { ...j.result, source: 'vault' };
      });
      return false;
    }
    const planned: PlannedDisk[] = point.disks.map((d) => ({
      diskKey: d.diskKey,
      name: d.name,
      lun: d.lun,
      sizeBytes: d.sizeBytes,
      snapshotId: d.sourceSnapshotId,
      diskId: restoreDiskId(job, restoreScope(job, item).subscriptionId, item.vmName, d.diskKey),
    }));
    job = await updateJob(deps, job.jobId, (j) => {
      if (j.result.source) return false;
      j.status = 'InProgress';
      j.startedAt ??= deps.clock();
      j.phase = 'CreateDisksFromSnapshots';
      j.result = { ...j.result, source: 'snapshot', instantDisks: planned };
      j.segmentsTotal = planned.length;
    });
    if (job.result.source !== 'snapshot') return startInstantRestore(deps, job, item, point);
  }
  try {
    await Promise.all(plannedOf(job).map((p) => createFromSnapshot(deps, job, item, point, p)));
  } catch (err) {
    if ((err as { statusCode?: number }).statusCode !== 404) throw err;
    // A snapshot deleted since the check (retention): auto falls back to the vault copy, snapshot fails.
    if (wanted === 'snapshot') throw unavailable('a source snapshot was deleted while the restore started.');
    await deleteInstantDisks(deps, job);
    await updateJob(deps, job.jobId, (j) => {
      j.result = { ...j.result, source: 'vault', instantDisks: undefined };
      j.phase = undefined;
      j.segmentsTotal = 0;
    });
    return false;
  }
  await handOverToFinish(deps, job);
  return true;
}

/** The disks made from snapshots are done targets of no segments: the finish step swaps or ends as for the vault. */
async function handOverToFinish(deps: Deps, job: Job): Promise<void> {
  const planned = plannedOf(job);
  const targets: RestoreTarget[] = planned.map((p) => ({
    diskKey: p.diskKey,
    name: p.name,
    lun: p.lun,
    diskId: p.diskId,
    sizeBytes: p.sizeBytes,
    segmentSize: p.sizeBytes,
    segments: 0,
    dataBytes: 0,
  }));
  const disks: RestoredDisk[] = planned.map((p) => ({ diskKey: p.diskKey, lun: p.lun, diskId: p.diskId, bytesWritten: 0, dataBytes: 0 }));
  await updateJob(deps, job.jobId, (j) => {
    if (targetsOf(j)) return false;
    j.result = { ...j.result, targets, disks };
    j.segmentsDone = j.segmentsTotal;
  });
  await deps.queues.queue(RESTORE_QUEUES.finish).send({ jobId: job.jobId });
}

function plannedOf(job: Job): PlannedDisk[] {
  return (job.result.instantDisks as PlannedDisk[] | undefined) ?? [];
}

async function createFromSnapshot(deps: Deps, job: Job, item: ProtectedItem, point: RecoveryPoint, p: PlannedDisk): Promise<void> {
  // A rerun finds the disks an earlier delivery created (same names): a Copy is complete once it exists.
  if (await deps.compute.getDisk(p.diskId)) return;
  const disk = point.disks.find((d) => d.diskKey === p.diskKey)!;
  const c = copyProfile(disk, item.osType);
  await deps.compute.createDiskFromSnapshot({
    snapshotId: p.snapshotId,
    ...restoreScope(job, item),
    resourceGroup: paramsOf(job, restoreParams).targetResourceGroup,
    name: restoreDiskName(job, item.vmName, p.diskKey),
    sku: c.sku,
    osType: c.osType,
    tags: { ...c.profile.tags, [TAGS.restoreJob]: job.jobId },
    profile: c.profile,
  });
}

async function deleteInstantDisks(deps: Deps, job: Job): Promise<void> {
  for (const p of plannedOf(job)) await deps.compute.deleteDisk(p.diskId);
}

/** Cleanup of a failed instant restore that had not recorded its disks as targets yet: its disks go. */
export async function deleteUnrecordedInstantDisks(deps: Deps, job: Job): Promise<void> {
  if (job.result.source === 'snapshot' && !targetsOf(job)) await deleteInstantDisks(deps, job);
}
