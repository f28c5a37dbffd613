import type { Job, JobLease } from '../domain/model';
import type { Deps } from './deps';
import { toJobError, updateJob } from './jobs';

/**
 * A lease on a job row that lets one delivery of a step work at a time (planning a backup, running a
 * restore). It lives in the job's `leases` field; a delivery that died holding it only delays the next one.
 */
export type { JobLease };

/** True when another delivery holds the lease now; otherwise takes it for `me` (inside an updateJob change). */
export function heldByOther(j: Job, lease: JobLease, me: string, now: number): boolean {
  const hold = j.leases?.[lease];
  return !!hold && hold.holder !== me && hold.until > now;
}

export function takeLease(j: Job, lease: JobLease, me: string, now: number, ttlMs: number): void {
  j.leases = { ...j.leases, [lease]: { holder: me, until: now + ttlMs } };
}

/** Seconds to wait before looking again, between `min` and `max`. */
export function leaseWaitSeconds(j: Job, lease: JobLease, now: number, min: number, max: number): number {
  return Math.min(max, Math.max(min, Math.ceil(((j.leases?.[lease]?.until ?? 0) - now) / 1000)));
}

/**
 * Gives the lease back after a failed attempt, so the redelivery can try at once. Best effort: if this fails
 * too, the lease simply runs out, and the caller's own error is the one that matters.
 */
export async function releaseLease(deps: Deps, jobId: string, lease: JobLease, me: string): Promise<void> {
  await updateJob(deps, jobId, (j) => {
    if (j.leases?.[lease]?.holder !== me) return false;
    const { [lease]: _released, ...rest } = j.leases;
    j.leases = Object.keys(rest).length ? rest : undefined;
  }).catch((err: unknown) => deps.log.warn('could not give a job lease back; it runs out on its own', { jobId, lease, error: toJobError(err).code }));
}
