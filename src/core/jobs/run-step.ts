import { ConflictError, PermanentStepError, TransientError } from '../errors';
import { CancelledError } from '../engine/stats';
import type { Job } from '../domain/model';
import type { Deps } from './deps';
import { finishJob, getJob, isTerminal, toJobError, updateJob } from './jobs';
import { releaseItemLock } from './lock';

/**
 * What a queue-triggered step does with a failure. Permanent errors (and any error on the last delivery the
 * host will make) end the job Failed with its code, message and recommended action, and free the item;
 * everything else is thrown again so the queue redelivers the message after its visibility timeout.
 */
export async function runStep(
  deps: Deps,
  jobId: string,
  attempt: { dequeueCount: number; maxDequeueCount: number },
  step: () => Promise<void>,
): Promise<void> {
  try {
    await step();
  } catch (err) {
    const last = attempt.dequeueCount >= attempt.maxDequeueCount;
    if (err instanceof CancelledError) return;
    if (err instanceof PermanentStepError || last) {
      deps.log.error('step failed; the job ends Failed', { jobId, code: toJobError(err).code });
      await failJob(deps, jobId, err);
      return;
    }
    if (err instanceof ConflictError || err instanceof TransientError) {
      deps.log.warn('step will be retried', { jobId, code: err.code });
    } else {
      deps.log.warn('step failed and will be retried', { jobId, code: toJobError(err).code });
    }
    throw err;
  }
}

export async function failJob(deps: Deps, jobId: string, err: unknown): Promise<void> {
  let job: Job;
  try {
    job = await getJob(deps, jobId);
  } catch {
    return;
  }
  if (isTerminal(job)) return;
  await cleanupAfterFailure(deps, job);
  await finishJob(deps, jobId, 'Failed', toJobError(err));
}

/** Best effort: what the kind created undone (SAS, its own snapshots, scratch), the item unlocked. */
async function cleanupAfterFailure(deps: Deps, job: Job): Promise<void> {
  const attempt = async (fn: () => Promise<unknown>): Promise<void> => {
    try {
      await fn();
    } catch (e) {
      deps.log.warn('cleanup action failed; the reconciler will retry it', { jobId: job.jobId, error: toJobError(e).code });
    }
  };
  const kind = deps.kinds.of(job.type);
  if (kind?.cleanup) await attempt(() => kind.cleanup!(deps, job));
  if (job.itemKey) await attempt(() => releaseItemLock(deps, job.itemKey!, job.jobId));
}

export async function requestCancel(deps: Deps, jobId: string): Promise<Job> {
  const job = await getJob(deps, jobId);
  if (isTerminal(job)) {
    throw new ConflictError('JobAlreadyFinished', `Job ${jobId} already ended with status ${job.status}.`, 'Nothing to cancel.');
  }
  if (!deps.kinds.of(job.type)?.cancellable) {
    throw new ConflictError('JobNotCancellable', `Jobs of type ${job.type} cannot be cancelled.`, 'Wait for the job to finish.');
  }
  const updated = await updateJob(deps, jobId, (j) => {
    if (isTerminal(j)) return false;
    j.cancelRequested = true;
    if (j.status === 'Queued') {
      j.status = 'Cancelled';
      j.endedAt = deps.clock();
    } else {
      j.status = 'Cancelling';
    }
  });
  // A queued backup or restore holds the item from its admission on; cancelled before it ran, it gives it back.
  if (updated.status === 'Cancelled' && updated.itemKey) await releaseItemLock(deps, updated.itemKey, jobId);
  return updated;
}

