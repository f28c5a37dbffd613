import type { Job, ProtectedItem } from '../domain/model';
import type { Deps } from './deps';
import { finishJob, getJob, isTerminal } from './jobs';
import { acquireItemLock, releaseItemLock } from './lock';
import { itemNotFound } from '../errors';

/**
 * How every step that changes one item begins: a finished job makes the delivery a no-op, a cancel request
 * ends the job Cancelled (freeing the lock), otherwise the step holds the item lock (or fails busy, to be
 * retried) and gets the item. Undefined means there is nothing left to do.
 */
export async function startItemStep(deps: Deps, jobId: string): Promise<{ job: Job; itemKey: string; item: ProtectedItem } | undefined> {
  const job = await getJob(deps, jobId);
  if (isTerminal(job) || !job.itemKey) return undefined;
  const itemKey = job.itemKey;
  if (job.cancelRequested) {
    await releaseItemLock(deps, itemKey, job.jobId);
    await finishJob(deps, job.jobId, 'Cancelled');
    return undefined;
  }
  await acquireItemLock(deps, itemKey, job.jobId);
  const item = (await deps.repos.items.get(itemKey))?.doc;
  if (!item) throw itemNotFound(itemKey);
  return { job, itemKey, item };
}
