import { ConflictError, itemNotFound } from '../../errors';
import type { Job } from '../../domain/model';
import type { Deps } from '../../jobs/deps';
import { createJobOnce } from '../../jobs/idempotency';
import { newParams } from '../../jobs/params';
import { restoreParams } from './params';
import { acquireItemLock, releaseItemLock } from '../../jobs/lock';
import { getPoint, RESTORE_QUEUES } from './plan';
import { tooLargeForUpload, tooLargeMessage } from './start';
import type { RestoreSource } from './instant';
import { instantAvailability, instantRestoreDays, snapshotGetter } from './instant-availability';
import { precheckReplace } from './replace-checks';
import { planNewVm, type NewVmRequest } from './new-vm-checks';

export { getPoint };
export type { RestoreSource };

export type RestoreMode = 'newDisks' | 'replaceDisks' | 'newVm';

export interface RestoreRequest {
  itemKey: string;
  pointId: string;
  mode: RestoreMode;
  targetResourceGroup?: string;
  /**
   * snapshot: create the disks from the point's source snapshots (409 when they are gone); vault: copy the data
   * from the backup storage; auto: the snapshots while they exist, else the vault. Absent: auto, so a restore is
   * instant whenever it can be (the vault copy stays the fallback).
   */
  source?: RestoreSource;
  /** mode newVm: the subnet of the new VM's NIC, and optionally its size, subscription and region. */
  newVm?: NewVmRequest;
  /** The client's Idempotency-Key: a retried request with it gets the first call's job. */
  idempotencyKey?: string;
}

export interface RestoreMessage {
  jobId: string;
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
  const source = req.source ?? 'auto';
  // A new VM in another region or subscription gets its disks there too (a VM attaches only disks of its own).
  const target = req.mode === 'newVm' ? { subscriptionId: req.newVm?.targetSubscriptionId, location: req.newVm?.targetLocation } : {};
  let instant = false;
  if (source !== 'vault') {
    const check = instantAvailability(point, await instantRestoreDays(deps, item), snapshotGetter(deps), deps.clock(), target.location ?? item.location);
    // auto does not fail on Compute being unreachable now: the start step asks again and may use the vault.
    const a = source === 'auto' ? await check.catch(() => ({ available: false, reason: undefined })) : await check;
    if (source === 'snapshot' && !a.available) {
      throw new ConflictError(
        'InstantRestoreUnavailable',
        `Recovery point '${req.pointId}' cannot be restored from its source snapshots: ${a.reason}`,
        'Restore it with source "vault" (or "auto"), which copies the data from the backup storage.',
      );
    }
    instant = a.available;
  }
  const big = instant ? [] : tooLargeForUpload(point);
  if (big.length > 0)
    throw new ConflictError('DiskTooLargeForUpload', tooLargeMessage(big), 'Restore this point from its source snapshots while they exist, or choose a point whose disks are at most 32 TiB.');
  // Every rule Azure applies to the swap, checked before any disk is made (replace-checks.ts, AZURE-FIDELITY B2).
  if (req.mode === 'replaceDisks') await precheckReplace(deps, item, point);
  // Subnet, region, size and zone checked before any disk is made (new-vm-checks.ts).
  const newVm = req.mode === 'newVm' ? await planNewVm(deps, item, point, req.newVm ?? { subnetId: '' }) : undefined;
  const params = {
    pointId: req.pointId,
    mode: req.mode,
    targetResourceGroup: req.targetResourceGroup ?? item.resourceGroup,
    source,
    ...(target.subscriptionId ? { targetSubscriptionId: target.subscriptionId } : {}),
    ...(target.location ? { targetLocation: target.location } : {}),
    ...(newVm ? { newVm } : {}),
  };
  const { job } = await createJobOnce(
    deps,
    req.idempotencyKey,
    JSON.stringify(['restore', req.itemKey, params]),
    { type: 'Restore', itemKey: req.itemKey, trigger: 'Api', params: newParams(restoreParams, params) },
    // Admission takes the item lock for the new job: of two calls at once only one gets the item, the other
    // answers 409 AnotherOperationInProgress, and the job's first step finds the lock already its own.
    (jobId) => acquireItemLock(deps, req.itemKey, jobId),
    (j) => deps.queues.queue(RESTORE_QUEUES.start).send({ jobId: j.jobId } satisfies RestoreMessage),
    (jobId) => releaseItemLock(deps, req.itemKey, jobId),
  );
  return job;
}
