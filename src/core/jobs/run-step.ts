import { ConflictError, PermanentStepError, TransientError } from '../errors';
import { CancelledError } from '../engine/stats';
import type { Job } from '../domain/model';
import type { Deps } from './deps';
import { finishJob, getJob, isTerminal, toJobError, updateJob } from './jobs';
import { releaseItemLock } from './lock';
import type { StepSpan } from '../ports/telemetry';
import { waitForArm } from './arm-wait';

/** Which delivery this is, and, for telemetry, which step and message (a segment message names its disk). */
export interface StepAttempt {
  dequeueCount: number;
  maxDequeueCount: number;
  step?: string;
  message?: { jobId: string; diskKey?: unknown; segment?: unknown };
  /** The queue the message came from: a step ARM throttles goes back to it after the Retry-After (arm-wait.ts). */
  queue?: string;
  /** How often this message was throttled in a row (from the raw message: arm-wait.ts armWaitsOf). */
  armWaits?: number;
}

/**
 * What a queue-triggered step does with a failure. ARM throttling sends the message again after the Retry-After
 * without spending a delivery (arm-wait.ts). Permanent errors (and any error on the last delivery the
 * host will make) end the job Failed with its code, message and recommended action, and free the item;
 * everything else is thrown again so the queue redelivers the message after its visibility timeout.
 * Each delivery is one span of the job's trace (ports/telemetry.ts), ended with the error code if it failed.
 */
export async function runStep(deps: Deps, jobId: string, attempt: StepAttempt, step: () => Promise<void>): Promise<void> {
  const span = await startStepSpan(deps, jobId, attempt);
  try {
    await step();
    span.end();
  } catch (err) {
    const last = attempt.dequeueCount >= attempt.maxDequeueCount;
    if (err instanceof CancelledError) {
      span.end();
      return;
    }
    const code = toJobError(err).code;
    // Throttling waits, on any delivery, the last included: no amount of it fails a job.
    const ref = attempt.queue && attempt.message ? { queue: attempt.queue, message: attempt.message, armWaits: attempt.armWaits } : undefined;
    if (await waitForArm(deps, jobId, ref, err, attempt.step)) {
      span.end({ code, willRetry: true });
      return;
    }
    if (err instanceof PermanentStepError || last) {
      span.end({ code });
      deps.log.error('step failed; the job ends Failed', { jobId, code });
      await failJob(deps, jobId, err);
      return;
    }
    span.end({ code, willRetry: true });
    if (err instanceof ConflictError || err instanceof TransientError) {
      deps.log.warn('step will be retried', { jobId, code: err.code });
    } else {
      deps.log.warn('step failed and will be retried', { jobId, code });
    }
    throw err;
  }
}

/** The job row gives the span its item and kind; read only when telemetry records, and never fatal. */
async function startStepSpan(deps: Deps, jobId: string, attempt: StepAttempt): Promise<StepSpan> {
  const t = deps.telemetry;
  if (!t?.recording) return { end() {} };
  const job = await deps.repos.jobs.get(jobId).catch(() => undefined);
  const m = attempt.message ?? { jobId };
  return t.startStep({
    jobId,
    step: attempt.step ?? 'step',
    jobType: job?.doc.type,
    itemKey: job?.doc.itemKey,
    diskKey: typeof m.diskKey === 'string' ? m.diskKey : undefined,
    segment: typeof m.segment === 'number' ? m.segment : undefined,
    attempt: attempt.dequeueCount,
  });
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
