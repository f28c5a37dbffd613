import { z } from 'zod';
import { PermanentStepError } from '../errors';
import type { Job, JobStatus } from '../domain/model';
import type { Deps } from './deps';
import { getJob, isTerminal, toJobError, updateJob } from './jobs';
import { failJob } from './run-step';
import { purgeExpiredRequests } from './idempotency';
import { newestFirstKey, TAGS } from '../store/layout';
import { DAY_MS } from '../domain/time';

export interface ReconcileResult {
  jobsRedriven: number;
  jobsAbandoned: number;
  locksFreed: number;
  snapshotsDeleted: number;
  snapshotsRevoked: number;
  requestsPurged: number;
}

/** After this many re-drives without progress a job is failed instead: something keeps killing it. */
const MAX_REDRIVES = 5;
const ACTIVE: JobStatus[] = ['Queued', 'InProgress', 'Cancelling'];

/**
 * Finds what dead jobs left behind and puts it right: a process killed mid-step, a message lost or poisoned
 * before its job could be failed, a best-effort cleanup that itself failed. A job is dead when it is not
 * finished, older than the lock lease, and nothing holds its item's lock; it is re-driven (every step is
 * idempotent, so a duplicate message is harmless), and failed after MAX_REDRIVES. Locks of finished or
 * missing jobs are freed; source snapshots nothing references (not a diff base, not a recovery point) and
 * whose job is over are revoked and deleted; the snapshots of recently failed or cancelled jobs are revoked.
 */
export async function reconcile(deps: Deps, now = deps.clock()): Promise<ReconcileResult> {
  const r: ReconcileResult = { jobsRedriven: 0, jobsAbandoned: 0, locksFreed: 0, snapshotsDeleted: 0, snapshotsRevoked: 0, requestsPurged: 0 };
  const items = await deps.repos.items.all();
  await redriveStalledJobs(deps, items, now, r);
  r.locksFreed = await freeDeadLocks(deps, items);
  r.snapshotsRevoked = await sweepRecentFailures(deps, now);
  r.snapshotsDeleted = await deleteOrphanedSnapshots(deps, items);
  r.requestsPurged = await purgeExpiredRequests(deps, now);
  for (const kind of deps.kinds.kinds) await kind.tick?.(deps, now);
  return r;
}

type Items = Awaited<ReturnType<Deps['repos']['items']['all']>>;

async function redriveStalledJobs(deps: Deps, items: Items, now: Date, r: ReconcileResult): Promise<void> {
  const leaseMs = deps.config.lockTtlSeconds * 1000;
  const byKey = new Map(items.map((i) => [i.itemKey, i]));
  const liveLock = (itemKey: string | undefined): string | undefined => {
    const i = itemKey ? byKey.get(itemKey) : undefined;
    return i?.lockOwner && i.lockExpiresAt && i.lockExpiresAt > now ? i.lockOwner : undefined;
  };
  for (const status of ACTIVE) {
    for (const job of await deps.repos.jobs.all({ where: { status } })) {
      const kind = deps.kinds.of(job.type);
      const age = now.getTime() - new Date(kind?.progressAt?.(job) ?? job.startedAt ?? job.createdAt).getTime();
      if (age < leaseMs) continue;
      // Jobs driven from outside the app hold no lock to show they live: give them a day.
      if ((!kind || kind.external?.(job)) && age < DAY_MS) continue;
      // Alive (it holds the lock), or waiting its turn behind another job that is.
      if (liveLock(job.itemKey)) continue;
      const outcome = await restart(deps, job);
      if (outcome === 'abandoned') r.jobsAbandoned++;
      if (outcome === 'redriven') r.jobsRedriven++;
    }
  }
}

/** How often the reconciler restarted the job: runtime bookkeeping kept in params, beside each kind's own. */
const redriveCount = z.object({ redrives: z.number().int().min(0) });
const redrivesOf = (job: Job): number => redriveCount.safeParse(job.params).data?.redrives ?? 0;

async function restart(deps: Deps, job: Job): Promise<'abandoned' | 'redriven' | 'ended'> {
  const redrives = redrivesOf(job);
  if (redrives >= MAX_REDRIVES) {
    await failJob(
      deps,
      job.jobId,
      new PermanentStepError('JobAbandoned', `Job ${job.jobId} made no progress after ${redrives} restarts.`, 'Check the function app logs for this job id, then start the operation again.'),
    );
    return 'abandoned';
  }
  const fresh = await updateJob(deps, job.jobId, (j) => {
    if (isTerminal(j)) return false;
    j.params = { ...j.params, redrives: redrives + 1 };
  });
  if (isTerminal(fresh)) return 'ended';
  await redrive(deps, fresh);
  deps.log.warn('reconciler re-drove a stalled job', { jobId: job.jobId, phase: job.phase, redrives: redrives + 1 });
  return 'redriven';
}

/** A running owner keeps its lock (a stalled one was re-driven first); a finished or missing one never frees it. */
async function freeDeadLocks(deps: Deps, items: Items): Promise<number> {
  let freed = 0;
  for (const item of items) {
    if (!item.lockOwner) continue;
    const owner = await getJob(deps, item.lockOwner).catch(() => undefined);
    if (owner && !isTerminal(owner)) continue;
    await deps.repos.items.update(item.itemKey, (i) => {
      if (i.lockOwner !== item.lockOwner) return false;
      i.lockOwner = undefined;
      i.lockExpiresAt = undefined;
    });
    freed++;
  }
  return freed;
}

/** Jobs that ended badly in the last day: their cleanup was best effort, so their kind does it again (idempotent). */
async function sweepRecentFailures(deps: Deps, now: Date): Promise<number> {
  let revoked = 0;
  const since = newestFirstKey(new Date(now.getTime() - DAY_MS));
  for (const status of ['Failed', 'Cancelled'] as const) {
    for (const job of await deps.repos.jobs.all({ where: { status }, rowKeyTo: since })) {
      const sweep = deps.kinds.of(job.type)?.sweep;
      if (!sweep) continue;
      await sweep(deps, job);
      revoked += job.plan?.length ?? 0;
    }
  }
  return revoked;
}

async function redrive(deps: Deps, job: Job): Promise<void> {
  const kind = deps.kinds.of(job.type);
  if (!kind) {
    await failJob(deps, job.jobId, new PermanentStepError('JobAbandoned', `Job ${job.jobId} stopped before it finished.`, 'Run the operation again.'));
    return;
  }
  if (kind.redrive) return kind.redrive(deps, job);
  await deps.queues.queue(kind.steps[0]!.queue).send({ jobId: job.jobId });
}

async function deleteOrphanedSnapshots(deps: Deps, items: Items): Promise<number> {
  let deleted = 0;
  const groups = new Map<string, { sub: string; rg: string }>();
  for (const i of items) groups.set(`${i.subscriptionId}/${i.resourceGroup}`.toLowerCase(), { sub: i.subscriptionId, rg: i.resourceGroup });
  const referenced = new Set<string>();
  for (const i of items) {
    for (const d of i.disks) if (d.baseSnapshotId) referenced.add(d.baseSnapshotId.toLowerCase());
    for (const p of await deps.repos.points.all(i.itemKey)) for (const d of p.disks) referenced.add(d.sourceSnapshotId.toLowerCase());
  }
  for (const g of groups.values()) {
    for await (const s of deps.compute.listSnapshots(g.sub, g.rg)) {
      const jobId = s.tags[TAGS.job];
      if (!jobId || referenced.has(s.id.toLowerCase())) continue;
      const owner = await getJob(deps, jobId).catch(() => undefined);
      if (owner && !isTerminal(owner)) continue; // still being made, or about to become a diff base
      try {
        await deps.compute.revokeSnapshot(s.id);
        await deps.compute.deleteSnapshot(s.id);
        deleted++;
      } catch (err) {
        deps.log.warn('reconciler could not delete an orphaned snapshot; next run retries', { snapshot: s.name, error: toJobError(err).code });
      }
    }
  }
  return deleted;
}
