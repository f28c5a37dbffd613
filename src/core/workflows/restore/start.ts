import { PermanentStepError } from '../../errors';
import type { Job, ProtectedItem, RecoveryPoint, RecoveryPointDisk } from '../../domain/model';
import { segmentLayout } from '../../engine/shards';
import type { Deps } from '../../jobs/deps';
import { startItemStep } from '../../jobs/item-step';
import { updateJob } from '../../jobs/jobs';
import { TAGS } from '../../store/layout';
import { enqueuePendingSegments, getPoint, manifestDataBytes, restoreDiskId, restoreDiskName, restoreScope, targetsOf, type RestoreTarget } from './plan';
import { uploadProfile } from './profile';
import { startInstantRestore } from './instant';
import { paramsOf } from '../../jobs/params';
import { restoreParams } from './params';

/** uploadSizeBytes is at most 32 TiB + 512 bytes (DiskRP 2025-01-02 diskRPCommon.json CreationData; AZURE-FIDELITY m7). */
export const MAX_UPLOAD_DISK = 32 * 1024 ** 4;

export function tooLargeForUpload(point: RecoveryPoint): RecoveryPointDisk[] {
  return point.disks.filter((d) => d.sizeBytes > MAX_UPLOAD_DISK);
}

export function tooLargeMessage(disks: RecoveryPointDisk[]): string {
  return `Disk(s) ${disks.map((d) => `'${d.name}' (${Math.round(d.sizeBytes / 1024 ** 4)} TiB)`).join(', ')} exceed the 32 TiB Azure allows for a disk created by upload, so this point cannot be restored by copying its data.`;
}

/**
 * Step 1 of a restore: creates one empty upload disk per disk of the point, records them as the job's targets
 * with the totals, then sends one message per segment. A redelivery after the targets were recorded only sends
 * the messages of the segments not done yet.
 */
export async function restoreStartStep(deps: Deps, msg: { jobId: string }): Promise<void> {
  const started = await startItemStep(deps, msg.jobId);
  if (!started) return;
  let { job } = started;
  if (!targetsOf(job)) {
    const point = await getPoint(deps, started.itemKey, paramsOf(job, restoreParams).pointId);
    // Instant restore (source snapshot or auto) creates the disks from the source snapshots and goes to finish.
    if (await startInstantRestore(deps, job, started.item, point)) return;
    const big = tooLargeForUpload(point);
    if (big.length > 0) throw new PermanentStepError('DiskTooLargeForUpload', tooLargeMessage(big), 'Restore this point from its source snapshots while they exist, or to disks of at most 32 TiB.');
    const targets: RestoreTarget[] = [];
    const warnings: string[] = [];
    for (const disk of point.disks) targets.push(await createTarget(deps, job, started.item, disk, warnings));
    job = await updateJob(deps, job.jobId, (j) => {
      if (targetsOf(j)) return false; // a concurrent delivery recorded the same disks first
      j.status = 'InProgress';
      j.startedAt ??= deps.clock();
      j.phase = 'RestoreDisks';
      j.result = { ...j.result, targets };
      // Measured against the point's data (the cells its manifests hold): a Completed restore covered all of it.
      j.bytesTotal = targets.reduce((n, t) => n + t.dataBytes, 0);
      j.segmentsTotal = targets.reduce((n, t) => n + t.segments, 0);
      j.warnings.push(...warnings.filter((w) => !j.warnings.includes(w)));
    });
  }
  await enqueuePendingSegments(deps, job);
}

async function createTarget(deps: Deps, job: Job, item: ProtectedItem, disk: RecoveryPointDisk, warnings: string[]): Promise<RestoreTarget> {
  const dataBytes = await manifestDataBytes(deps, disk);
  const scope = restoreScope(job, item);
  const id = restoreDiskId(job, scope.subscriptionId, item.vmName, disk.diskKey);
  // A disk of this job out of upload state before the targets were recorded is an attempt of unknown content.
  const earlier = await deps.compute.getDisk(id);
  if (earlier && earlier.state !== 'ReadyToUpload' && earlier.state !== 'ActiveUpload') await deps.compute.deleteDisk(earlier.id);
  const up = uploadProfile(disk, item.osType);
  warnings.push(...up.warnings);
  const created = await deps.compute.createUploadDisk({
    subscriptionId: scope.subscriptionId,
    resourceGroup: paramsOf(job, restoreParams).targetResourceGroup,
    name: restoreDiskName(job, item.vmName, disk.diskKey),
    location: scope.location,
    sizeBytes: disk.sizeBytes,
    sku: up.sku,
    osType: up.osType,
    tags: { ...up.profile.tags, [TAGS.restoreJob]: job.jobId },
    profile: up.profile,
    secure: up.secure,
  });
  const segmentSize = deps.config.copy.segmentSize;
  return {
    diskKey: disk.diskKey,
    name: disk.name,
    lun: disk.lun,
    diskId: created.id,
    sizeBytes: disk.sizeBytes,
    segmentSize,
    segments: segmentLayout(disk.sizeBytes, segmentSize).length,
    shardSize: disk.shardSize,
    dataBytes,
    ...(up.secure ? { guestState: disk.guestState } : {}),
    ...(up.profile.dataAccessAuthMode === 'AzureActiveDirectory' ? { entraDataAccess: true } : {}),
  };
}
