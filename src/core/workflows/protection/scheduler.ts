import { createHash } from 'node:crypto';
import { QUEUES } from '../../config';
import { latestSlotAtOrBefore } from '../../domain/schedule';
import type { Deps } from '../../jobs/deps';
import { createJob } from '../../jobs/jobs';
import type { SnapshotMessage } from '../backup/plan';
import { newestFirstKey } from '../../store/layout';
import { DAY_MS } from '../../domain/time';

export interface TickResult {
  policies: number;
  itemsDue: number;
  jobsCreated: number;
  jobsResent: number;
}

/** Same item and slot, same id: a second tick, a retried tick or a second instance never duplicates a job. */
export function scheduledJobId(itemKey: string, slot: Date): string {
  return `${newestFirstKey(slot)}-s${createHash('sha256').update(itemKey).digest('hex').slice(0, 16)}`;
}

/** Table and queue requests in flight during a tick: all policies share them, none waits for another. */
const TICK_CONCURRENCY = 64;

/**
 * A job still Queued without a plan after this long lost its message (its tick died between the insert and
 * the send) and is sent again. A younger one belongs to a tick running right now, whose own send is coming.
 */
export const RESEND_AFTER_MS = 2 * 60_000;

/**
 * One scheduler tick: for each policy, the latest slot at or before now is due for each of its items that
 * has no backup for that slot yet. Only the latest slot counts, so after downtime an item gets one catch-up
 * backup, not one per missed slot.
 */
export async function schedulerTick(deps: Deps, now = deps.clock()): Promise<TickResult> {
  const result: TickResult = { policies: 0, itemsDue: 0, jobsCreated: 0, jobsResent: 0 };
  const policies = await deps.repos.policies.all();
  const items = await deps.repos.items.all();
  const snapshotQueue = deps.queues.queue(QUEUES.snapshot);
  const due: { itemKey: string; slot: Date }[] = [];
  for (const policy of policies) {
    result.policies++;
    const slot = latestSlotAtOrBefore(policy.schedule, policy.timeZone, now);
    if (!slot) continue;
    for (const item of items) {
      if (item.policyName !== policy.name || (item.state !== 'Protected' && item.state !== 'ProtectionPending')) continue;
      // Azure Backup: "An initial backup will run in accordance with your backup schedule" after protection is
      // enabled (MicrosoftDocs/azure-docs articles/backup/backup-azure-arm-vms-prepare.md), so a slot that
      // passed before the item got its policy is not due: the first one is the next slot after protection.
      if (slot < (item.protectedAt ?? item.createdAt)) continue;
      // A backup that already covers this slot (e.g. backup-now after the slot) makes the slot done.
      if (item.lastBackupAt && item.lastBackupAt >= slot) continue;
      // An exported first backup is on its way to be imported: a full copy now would make it useless. A seed
      // that never arrives must not leave the item unprotected, so the wait ends after VMBACKUP_SEED_WAIT_DAYS.
      if (item.seed && !item.lastRecoveryPointId && Date.parse(item.seed.exportedAt) + deps.config.seedWaitDays * DAY_MS > now.getTime()) continue;
      due.push({ itemKey: item.itemKey, slot });
    }
  }
  result.itemsDue = due.length;
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < due.length) {
      const { itemKey, slot } = due[next++]!;
      const jobId = scheduledJobId(itemKey, slot);
      const { job, created } = await createJob(deps, { jobId, type: 'Backup', itemKey, trigger: 'Scheduled', params: { slot: slot.toISOString() } });
      if (created) result.jobsCreated++;
      else if (job.status === 'Queued' && !job.plan && now.getTime() - job.createdAt.getTime() >= RESEND_AFTER_MS) result.jobsResent++;
      else continue;
      await snapshotQueue.send({ jobId } satisfies SnapshotMessage);
    }
  };
  await Promise.all(Array.from({ length: Math.min(TICK_CONCURRENCY, due.length) }, worker));
  return result;
}
