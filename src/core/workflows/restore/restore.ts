import { ConflictError, itemNotFound } from '../../errors';
import type { Job } from '../../domain/model';
import type { Deps } from '../../jobs/deps';
import { createJobOnce } from '../../jobs/idempotency';
import { acquireItemLock, releaseItemLock } from '../../jobs/lock';
import { getPoint, RESTORE_QUEUES } from './plan';
import { tooLargeForUpload, tooLargeMessage } from './start';
import { precheckReplace } from './replace-checks';

export { getPoint };

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
  const big = tooLargeForUpload(point);
  if (big.length > 0) throw new ConflictError('DiskTooLargeForUpload', tooLargeMessage(big), 'Restore this point from its source snapshots while they exist, or choose a point whose disks are at most 32 TiB.');
  // Every rule Azure applies to the swap, checked before any disk is made (replace-checks.ts, AZURE-FIDELITY B2).
  if (req.mode === 'replaceDisks') await precheckReplace(deps, item, point);
  const params = { pointId: req.pointId, mode: req.mode, targetResourceGroup: req.targetResourceGroup ?? item.resourceGroup };
  const { job } = await createJobOnce(
    deps,
    req.idempotencyKey,
    JSON.stringify(['restore', req.itemKey, params]),
    { type: 'Restore', itemKey: req.itemKey, trigger: 'Api', params },
    // Admission takes the item lock for the new job: of two calls at once only one gets the item, the other
    // answers 409 AnotherOperationInProgress, and the job's first step finds the lock already its own.
    (jobId) => acquireItemLock(deps, req.itemKey, jobId),
    (j) => deps.queues.queue(RESTORE_QUEUES.start).send({ jobId: j.jobId } satisfies RestoreMessage),
    (jobId) => releaseItemLock(deps, req.itemKey, jobId),
  );
  return job;
}
