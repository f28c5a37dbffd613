import { createHash } from 'node:crypto';
import { ConflictError, ValidationError } from '../errors';
import { EntityExistsError, StaleEtagError } from '../ports/tables';
import type { Job } from '../domain/model';
import type { Deps } from './deps';
import type { RequestRecord } from '../store/records';
import { createJob, newJobId } from './jobs';

/** How long a key stays bound to its job: a client retrying a lost answer does so within minutes. */
export const IDEMPOTENCY_WINDOW_MS = 24 * 3_600_000;

const KEY = /^[\x21-\x7e]{1,200}$/;

export function checkIdempotencyKey(key: string | undefined): string | undefined {
  if (key === undefined) return undefined;
  if (!KEY.test(key))
    throw new ValidationError(
      'The Idempotency-Key header must be 1-200 printable ASCII characters without spaces.',
      'Send a fresh random value per operation, e.g. a UUID, and the same value when you retry it.',
    );
  return key;
}

/**
 * Creates a queued job at most once per client key. A client whose answer was lost (a timeout, a dropped
 * connection) sends the same request with the same key and gets the job the first call created, instead of
 * a second backup or restore. Without a key, every call creates a job.
 *
 * The key is reserved before the job row exists, so of two concurrent calls with one key only one job is
 * created: the loser adopts the winner's job id. `beforeCreate(jobId)` runs the caller's admission checks (item
 * busy and the like) only when this call is the one that creates the job; a replay skips them, so a retry
 * of an accepted backup is answered with that backup even while it runs and holds the item's lock.
 */
export async function createJobOnce(
  deps: Deps,
  key: string | undefined,
  fingerprint: string,
  init: Parameters<typeof createJob>[1],
  beforeCreate: (jobId: string) => Promise<void>,
  send: (job: Job) => Promise<void>,
  /** Undoes beforeCreate when the job row could not be written (e.g. gives the item lock back). */
  onCreateFailed: (jobId: string) => Promise<void> = async () => {},
): Promise<{ job: Job; replayed: boolean }> {
  const create = async (jobId: string): Promise<{ job: Job; created: boolean }> => {
    await beforeCreate(jobId);
    try {
      return await createJob(deps, { ...init, jobId });
    } catch (err) {
      await onCreateFailed(jobId).catch(() => undefined);
      throw err;
    }
  };
  if (!key) {
    const { job } = await create(newJobId(deps.clock()));
    await send(job);
    return { job, replayed: false };
  }
  const keyHash = createHash('sha256').update(key).digest('hex');
  const now = deps.clock();
  const record: RequestRecord = { keyHash, fingerprint, jobId: newJobId(now), createdAt: now };
  let jobId = record.jobId;
  try {
    await deps.repos.requests.insert(record);
  } catch (err) {
    if (!(err instanceof EntityExistsError)) throw err;
    const cur = await deps.repos.requests.get(keyHash);
    if (cur && now.getTime() - cur.doc.createdAt.getTime() > IDEMPOTENCY_WINDOW_MS) {
      // An expired key is free again: take it over (ETag-guarded, so one of two racing callers wins).
      await deps.repos.requests.replace(record, cur.etag).catch((err: unknown) => {
        throw err instanceof StaleEtagError ? keyRace() : err; // a storage error stays what it is (retryable)
      });
    } else if (cur) {
      if (cur.doc.fingerprint !== fingerprint) throw keyReused();
      jobId = cur.doc.jobId;
      const existing = await deps.repos.jobs.get(jobId);
      if (existing) {
        // Still queued: the first call may have died before its message; a second message is harmless.
        if (existing.doc.status === 'Queued') await send(existing.doc);
        return { job: existing.doc, replayed: true };
      }
      // Reserved by a call that was refused (409) or died before its job row: this call may create it.
    } else {
      throw keyRace();
    }
  }
  const { job, created } = await create(jobId);
  // Not created: a concurrent call with this key (or our own insert whose answer was lost) made it.
  if (created || job.status === 'Queued') await send(job);
  return { job, replayed: !created };
}

function keyReused(): ConflictError {
  return new ConflictError(
    'IdempotencyKeyReused',
    'This Idempotency-Key was already used for a different request.',
    'Use a new key for every distinct operation; repeat a key only to retry the very same request.',
  );
}

function keyRace(): ConflictError {
  return new ConflictError('IdempotencyKeyInUse', 'Another request with this Idempotency-Key is being processed.', 'Retry the request in a few seconds with the same key.');
}

/** Removes keys older than the window; run by the reconciler so the table stays small. */
export async function purgeExpiredRequests(deps: Deps, now = deps.clock()): Promise<number> {
  let purged = 0;
  for (const r of await deps.repos.requests.all()) {
    if (now.getTime() - r.createdAt.getTime() <= IDEMPOTENCY_WINDOW_MS) continue;
    await deps.repos.requests.delete(r).catch(() => undefined);
    purged++;
  }
  return purged;
}
