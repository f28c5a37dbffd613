import { armThrottleOf } from '../errors';
import type { Deps } from './deps';
import { updateJob } from './jobs';
import { extendItemLock } from './lock';

/** Where the step's message goes back to, and what it was. */
export interface StepMessageRef {
  queue: string;
  message: { jobId: string };
  /** How often this message was throttled in a row (carried in the message as `armWaits`). */
  armWaits?: number;
}

/** The count a re-sent message carries; step schemas strip it, the step runtime reads it from the raw message. */
export const armWaitsOf = (raw: unknown): number => {
  const n = Number((raw as { armWaits?: unknown } | undefined)?.armWaits);
  return Number.isInteger(n) && n > 0 ? n : 0;
};

/** A backoff on ARM's wait never exceeds this (ARM's seconds: scaled on a compressed emulator), unless ARM asks for longer. */
const MAX_BACKOFF_SECONDS = 3600;

const WAIT_NOTE = / \(waiting for ARM throttling until [^)]*\)$/;

/** Queue visibility is whole seconds, at most 7 days; a wait is never shorter than a second. */
const MAX_WAIT_SECONDS = 7 * 24 * 3600;

/**
 * How long a step waits: never less than the Retry-After; when throttled again, up to twice as long per repeat
 * (capped at an hour of ARM's time), picked at random in between. The jitter matters: several messages of one
 * job (a backup's finalize is sent by each last segment and by duplicates) throttled together and waiting alike
 * come back together, drain the bucket together, and double their waits in step for ever (the 1000-run soak had
 * four finalize messages of one backup still waiting after 500 s); spread out, one of them gets through
 * (exponential backoff with randomization: https://learn.microsoft.com/azure/architecture/best-practices/transient-faults).
 */
export function waitSeconds(retryAfterMs: number, waits: number, timeScale: number, random: () => number = Math.random): number {
  const asked = Math.max(1, Math.ceil(retryAfterMs / 1000));
  const ceiling = Math.max(asked, Math.min(asked * 2 ** Math.min(waits, 16), Math.ceil(MAX_BACKOFF_SECONDS / timeScale)));
  return Math.min(MAX_WAIT_SECONDS, asked + Math.floor(random() * (ceiling - asked + 1)));
}

/**
 * ARM throttled one of the step's calls (errors.ts armThrottleOf). Azure's answer to that is to wait the
 * Retry-After and send again (request-limits-and-throttling: "your application should wait (or sleep)"), which
 * a failed delivery cannot do: the queue would redeliver after its own visibility timeout and count the
 * delivery, so enough throttling would fail the job. Instead the step's message goes back to its queue,
 * invisible for the Retry-After, and this delivery ends well. The job says what it waits for, and the item lock
 * is extended past the wait so the reconciler sees the job alive.
 *
 * Retry-After names when the next request may pass, not when a whole step's calls will: a step that runs again
 * from its start and is throttled again each time would never get through a bucket that refills slowly. So a
 * message throttled again waits twice as long each time (up to an hour), letting the bucket fill meanwhile
 * (https://learn.microsoft.com/azure/architecture/best-practices/retry-service-specific: back off exponentially).
 *
 * The Retry-After is a wait on the clock of the service that answered, so it is used as given: a compressed
 * local ARM (the emulator) answers in its own, already compressed, seconds.
 * Returns false when the error is not ARM throttling, or when the step has no queue to go back to.
 */
export async function waitForArm(deps: Deps, jobId: string, ref: StepMessageRef | undefined, err: unknown, step = 'step'): Promise<boolean> {
  const t = armThrottleOf(err);
  if (!t || !ref) return false;
  const seconds = waitSeconds(t.retryAfterMs, ref.armWaits ?? 0, deps.config.arm.timeScale);
  const waits = ref.armWaits ?? 0;
  const retryAt = new Date(deps.clock().getTime() + seconds * 1000);
  const job = (await deps.repos.jobs.get(jobId))?.doc;
  if (job?.itemKey) await extendItemLock(deps, job.itemKey, jobId, seconds * 1000);
  if (job) {
    await updateJob(deps, jobId, (j) => {
      const prev = (j.result.armThrottled as { waits?: number } | undefined)?.waits ?? 0;
      // Progress text, not a warning: throttling is no fault of the backup, and the job completes as usual.
      j.result = { ...j.result, armThrottled: { waits: prev + 1, step, retryAt: retryAt.toISOString(), message: t.message.slice(0, 300) } };
      // The phase keeps its name and says until when it waits (a note that goes stale by its own time).
      j.phase = `${(j.phase ?? 'Queued').replace(WAIT_NOTE, '')} (waiting for ARM throttling until ${retryAt.toISOString()})`;
    });
  }
  await deps.queues.queue(ref.queue).send({ ...ref.message, armWaits: waits + 1 }, { visibilityDelaySeconds: seconds });
  deps.log.warn('ARM throttled the step; it runs again after the Retry-After', { jobId, step, seconds, waits: waits + 1 });
  return true;
}
