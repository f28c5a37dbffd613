import type { Job } from '../domain/model';
import type { Deps } from './deps';
import { toJobError, updateJob } from './jobs';

/**
 * A lease on a job row that lets one delivery of a step work at a time (planning a backup, running a
 * restore). It lives in the job's params; a delivery that died holding it only delays the next one.
 */
export type JobLease = 'planner' | 'runner';

/** Lease params are bookkeeping, not something the API shows. */
export const LEASE_PARAMS: ReadonlySet<string> = new Set(['planner', 'plannerUntil', 'runner', 'runnerUntil']);

/** True when another delivery holds the lease now; otherwise takes it for `me` (inside an updateJob change). */
export function heldByOther(j: Job, lease: JobLease, me: string, now: number): boolean {
  const holder = j.params[lease];
  if (holder && holder !== me && Number(j.params[`${lease}Until`] ?? 0) > now) return true;
  return false;
}

export function takeLease(j: Job, lease: JobLease, me: string, now: number, ttlMs: number): void {
  j.params = { ...j.params, [lease]: me, [`${lease}Until`]: now + ttlMs };
}

/** Seconds to wait before looking again, between `min` and `max`. */
export function leaseWaitSeconds(j: Job, lease: JobLease, now: number, min: number, max: number): number {
  return Math.min(max, Math.max(min, Math.ceil((Number(j.params[`${lease}Until`] ?? 0) - now) / 1000)));
}

/**
 * Gives the lease back after a failed attempt, so the redelivery can try at once. Best effort: if this fails
 * too, the lease simply runs out, and the caller's own error is the one that matters.
 */
export async function releaseLease(deps: Deps, jobId: string, lease: JobLease, me: string): Promise<void> {
  await updateJob(deps, jobId, (j) => {
    if (j.params[lease] !== me) return false;
    j.params = Object.fromEntries(Object.entries(j.params).filter(([k]) => k !== lease && k !== `${lease}Until`));
  }).catch((err: unknown) => deps.log.warn('could not give a job lease back; it runs out on its own', { jobId, lease, error: toJobError(err).code }));
}
