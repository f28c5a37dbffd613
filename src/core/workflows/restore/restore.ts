import { randomUUID } from 'node:crypto';
import { QUEUES } from '../../config';
import { ConflictError, itemNotFound, PermanentStepError, pointNotFound } from '../../errors';
import type { Job, ProtectedItem, RecoveryPoint, RecoveryPointDisk } from '../../domain/model';
import { decodeManifest } from '../../engine/manifest';
import { ManifestMismatchError, restoreDisk } from '../../engine/restore-disk';
import { vhdFooter } from '../../engine/vhd';
import { CancelledError } from '../../engine/stats';
import type { Deps } from '../../jobs/deps';
import { createJobOnce } from '../../jobs/idempotency';
import { heldByOther, leaseWaitSeconds, releaseLease, takeLease } from '../../jobs/job-lease';
import { startItemStep } from '../../jobs/item-step';
import { finishJob, updateJob } from '../../jobs/jobs';
import { acquireItemLock, releaseItemLock } from '../../jobs/lock';
import { CELL } from '../../domain/ranges';
import { TAGS } from '../../store/layout';
import { cancelPoller } from '../../jobs/cancel';

export type RestoreMode = 'newDisks' | 'replaceDisks';

export interface RestoreRequest {
  itemKey: string;
  pointId: string;
  mode: RestoreMode;
  targetResourceGroup?: string;
  /** The client's Idempotency-Key: a retried request with it gets the first call's job. */
  idempotencyKey?: string;
}

export interface RestoreMessage { jobId: string }

export async function getPoint(deps: Deps, itemKey: string, pointId: string): Promise<RecoveryPoint> {
  const p = await deps.repos.points.get(itemKey, pointId);
  if (!p) throw pointNotFound(pointId);
  return p.doc;
}

export async function requestRestore(deps: Deps, req: RestoreRequest): Promise<Job> {
  const item = (await deps.repos.items.get(req.itemKey))?.doc;
  if (!item) throw itemNotFound(req.itemKey);
  const point = await getPoint(deps, req.itemKey, req.pointId);
  if (point.state === 'SoftDeleted') {
    throw new ConflictError('RecoveryPointSoftDeleted', `Recovery point '${req.pointId}' is deleted (soft delete).`, 'Undelete the recovery point first, then restore it.');
  }
  if (point.state === 'Corrupt') {
    throw new ConflictError('RecoveryPointCorrupt', `Recovery point '${req.pointId}' failed verification and cannot be restored.`, 'Restore an older or newer recovery point.');
  }
  const params = { pointId: req.pointId, mode: req.mode, targetResourceGroup: req.targetResourceGroup ?? item.resourceGroup };
  const { job } = await createJobOnce(
    deps,
    req.idempotencyKey,
    JSON.stringify(['restore', req.itemKey, params]),
    { type: 'Restore', itemKey: req.itemKey, trigger: 'Api', params },
    // Admission takes the item lock for the new job: of two calls at once only one gets the item, the other
    // answers 409 AnotherOperationInProgress, and the job's first step finds the lock already its own.
    (jobId) => acquireItemLock(deps, req.itemKey, jobId),
    (j) => deps.queues.queue(QUEUES.restore).send({ jobId: j.jobId } satisfies RestoreMessage),
    (jobId) => releaseItemLock(deps, req.itemKey, jobId),
  );
  return job;
}

interface RestoredDisk { diskKey: string; lun: number; diskId: string; bytesWritten: number; dataBytes: number }

/** The bytes of the 4 MiB cells that hold data in one disk's manifest: what a restore of it covers. */
function manifestDataBytes(cells: Iterable<number>, diskSize: number): number {
  let n = 0;
  for (const i of cells) n += Math.max(0, Math.min(CELL, diskSize - i * CELL));
  return n;
}

async function pointDataBytes(deps: Deps, point: RecoveryPoint): Promise<number> {
  let n = 0;
  for (const d of point.disks) {
    const buf = await deps.store.getObject(d.manifest);
    // A missing manifest fails the disk's restore with its own message; it adds nothing to the total.
    if (buf) n += manifestDataBytes(decodeManifest(buf).cells.keys(), d.sizeBytes);
  }
  return n;
}

/** Restores every disk of the point into new managed disks, then (replaceDisks) swaps them into the VM. */
export async function restoreStep(deps: Deps, msg: RestoreMessage): Promise<void> {
  const started = await startItemStep(deps, msg.jobId);
  if (!started) return;
  let { job } = started;
  const { itemKey, item } = started;
  const point = await getPoint(deps, itemKey, String(job.params.pointId));
  const dataBytes = await pointDataBytes(deps, point);
  // One delivery at a time restores: a duplicate running alongside would revoke the other's upload access
  // when it finishes. The claim is a lease, so a delivery that died holding it only delays the next one.
  const me = randomUUID();
  const now = deps.clock().getTime();
  let claimed = true;
  job = await updateJob(deps, job.jobId, (j) => {
    claimed = true;
    if (heldByOther(j, 'runner', me, now)) { claimed = false; return false; }
    j.status = 'InProgress';
    j.startedAt ??= deps.clock();
    j.phase = 'RestoreDisks';
    // Measured against the point's data (the cells its manifests hold), one segment per disk: a restore that
    // ends Completed has covered all of it, so it says 100 %.
    j.bytesTotal = dataBytes;
    j.segmentsTotal = point.disks.length;
    takeLease(j, 'runner', me, now, deps.config.lockTtlSeconds * 1000);
  });
  if (!claimed) {
    const delay = leaseWaitSeconds(job, 'runner', now, 5, 15);
    await deps.queues.queue(QUEUES.restore).send({ jobId: job.jobId } satisfies RestoreMessage, { visibilityDelaySeconds: delay });
    return;
  }
  try {
    await restoreClaimed(deps, job, item, point, itemKey);
  } catch (err) {
    await releaseLease(deps, job.jobId, 'runner', me);
    throw err;
  }
}

async function restoreClaimed(deps: Deps, job: Job, item: ProtectedItem, point: RecoveryPoint, itemKey: string): Promise<void> {
  const restored: RestoredDisk[] = [...((job.result.disks as RestoredDisk[] | undefined) ?? [])];
  for (const disk of point.disks) {
    if (restored.some((r) => r.diskKey === disk.diskKey)) continue;
    let r: RestoredDisk;
    try {
      r = await restoreOneDisk(deps, job, item.subscriptionId, item.vmName, item.location, disk);
    } catch (err) {
      if (!(err instanceof CancelledError)) throw err;
      // Cancelled: the half-written disk is useless; the disks already finished stay, listed in the result.
      await deps.compute.deleteDisk(restoreDiskId(job, item.subscriptionId, item.vmName, disk));
      await releaseItemLock(deps, itemKey, job.jobId);
      await finishJob(deps, job.jobId, 'Cancelled');
      return;
    }
    restored.push(r);
    await updateJob(deps, job.jobId, (j) => {
      j.result = { ...j.result, disks: restored };
      j.bytesDone = Math.min(j.bytesTotal, restored.reduce((n, x) => n + x.dataBytes, 0));
      j.segmentsDone = Math.min(j.segmentsTotal, restored.length);
    });
  }
  if (job.params.mode === 'replaceDisks') await swapIntoVm(deps, job, item.vmId, restored);
  await releaseItemLock(deps, itemKey, job.jobId);
  await finishJob(deps, job.jobId, 'Completed');
}

function restoreDiskName(job: Job, vmName: string, disk: RecoveryPointDisk): string {
  return `${vmName}-${disk.diskKey}-r${job.jobId.slice(-8)}`.slice(0, 80);
}

function restoreDiskId(job: Job, subscriptionId: string, vmName: string, disk: RecoveryPointDisk): string {
  return `/subscriptions/${subscriptionId}/resourceGroups/${String(job.params.targetResourceGroup)}/providers/Microsoft.Compute/disks/${restoreDiskName(job, vmName, disk)}`;
}

async function restoreOneDisk(deps: Deps, job: Job, subscriptionId: string, vmName: string, location: string, disk: RecoveryPointDisk): Promise<RestoredDisk> {
  const rg = String(job.params.targetResourceGroup);
  const name = restoreDiskName(job, vmName, disk);
  const manifestBuf = await deps.store.getObject(disk.manifest);
  if (!manifestBuf) throw new PermanentStepError('ManifestMissing', `The manifest of disk '${disk.name}' is missing from the backup storage.`, 'Restore another recovery point and run verify on this one.');
  const manifest = decodeManifest(manifestBuf);
  // A redelivery after an earlier attempt revoked its write access finds the disk out of upload state, its
  // content unknown (the attempt may have died half way): start that disk again from an empty upload disk.
  const earlier = await deps.compute.getDisk(restoreDiskId(job, subscriptionId, vmName, disk));
  if (earlier && earlier.state !== 'ReadyToUpload' && earlier.state !== 'ActiveUpload') await deps.compute.deleteDisk(earlier.id);
  const created = await deps.compute.createUploadDisk({ subscriptionId, resourceGroup: rg, name, location, sizeBytes: disk.sizeBytes, sku: disk.sku, tags: { [TAGS.restoreJob]: job.jobId } });
  const sas = await deps.compute.grantDiskWrite(created.id, deps.config.sasDurationSeconds);
  try {
    const target = deps.dataPlane.openTarget(sas);
    const stats = await restoreDisk(
      {
        diskSize: disk.sizeBytes,
        shardSize: disk.shardSize,
        shards: disk.shards,
        manifest,
        concurrency: deps.config.copy.concurrency,
        rangeWindow: deps.config.copy.diffWindow,
      },
      deps.store,
      target,
      { isCancelled: cancelPoller(deps, job.jobId) },
    );
    await target.putPages(disk.sizeBytes, vhdFooter(disk.sizeBytes));
    return { diskKey: disk.diskKey, lun: disk.lun, diskId: created.id, bytesWritten: stats.bytesWritten, dataBytes: manifestDataBytes(manifest.cells.keys(), disk.sizeBytes) };
  } catch (err) {
    if (err instanceof ManifestMismatchError) {
      throw new PermanentStepError('RecoveryPointCorrupt', `The backup data of disk '${disk.name}' does not match its manifest (${err.cells.length} cell(s)).`, 'Restore another recovery point; run verify on this one to mark it.');
    }
    throw err;
  } finally {
    await deps.compute.revokeDisk(created.id);
  }
}

async function swapIntoVm(deps: Deps, job: Job, vmId: string, restored: RestoredDisk[]): Promise<void> {
  if (job.result.swapped) return;
  const vm = await deps.compute.getVm(vmId);
  if (!vm) throw new PermanentStepError('VmNotFound', 'The VM to replace disks on no longer exists.', 'Restore with mode newDisks and create a VM from the restored disks.');
  const os = restored.find((r) => r.lun < 0);
  if (!os) throw new PermanentStepError('NoOsDisk', 'The recovery point has no OS disk to swap in.', 'Restore with mode newDisks.');
  const wasRunning = vm.powerState === 'running';
  const previous = vm.disks.map((d) => ({ lun: d.lun, diskId: d.diskId }));
  await updateJob(deps, job.jobId, (j) => { j.phase = 'ReplaceDisks'; j.result = { ...j.result, previousDisks: previous, wasRunning }; });
  if (wasRunning) await deps.compute.deallocateVm(vmId);
  await deps.compute.setVmDisks(vmId, os.diskId, restored.filter((r) => r.lun >= 0).map((r) => ({ lun: r.lun, diskId: r.diskId })));
  if (wasRunning) await deps.compute.startVm(vmId);
  await updateJob(deps, job.jobId, (j) => { j.result = { ...j.result, swapped: true }; });
}
