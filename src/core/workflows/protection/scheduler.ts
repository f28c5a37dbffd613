import { createHash } from 'node:crypto';
import { QUEUES } from '../../config';
import { latestSlotAtOrBefore } from '../../domain/schedule';
import type { Deps } from '../../jobs/deps';
import { createJob } from '../../jobs/jobs';
import { newParams } from '../../jobs/params';
import { backupParams } from '../backup/params';
import type { SnapshotMessage } from '../backup/plan';
import { newestFirstKey } from '../../store/layout';
import { DAY_MS } from '../../domain/time';
import type { ProtectedItem } from '../../domain/model';
import { EntityExistsError } from '../../ports/tables';
import type { SlotClaim } from '../../store/records';

export interface TickResult {
  policies: number;
  itemsDue: number;
  jobsCreated: number;
  jobsResent: number;
}

/**
 * A scheduled job's id sorts by its creation time like every other job's (GET /jobs is newest first); the
 * suffix names item and slot. One job per item and slot is kept by a claim row (see claimSlot), not by the id.
 */
export function scheduledJobId(itemKey: string, slot: Date, createdAt: Date = slot): string {
  return `${newestFirstKey(createdAt)}-s${createHash('sha256').update(`${itemKey}@${slot.toISOString()}`).digest('hex').slice(0, 16)}`;
}

/**
 * The first tick to insert an item's claim for a slot names its job; a second tick, a retried one or a second
 * instance reads the claim and meets the same job id. Claims live beside the idempotency keys (partition
 * "slot") and are kept: only the latest slot of a policy is ever due, so old claims are never read again.
 */
async function claimSlot(deps: Deps, itemKey: string, slot: Date, now: Date): Promise<string> {
  const claims = deps.repos.slotClaims;
  const claim: SlotClaim = { claimKey: `${newestFirstKey(slot)}-${createHash('sha256').update(itemKey).digest('hex').slice(0, 32)}`, jobId: scheduledJobId(itemKey, slot, now), createdAt: now };
  try {
    await claims.insert(claim);
    return claim.jobId;
  } catch (err) {
    if (!(err instanceof EntityExistsError)) throw err;
    const cur = await claims.get(claim.claimKey);
    if (!cur) throw err;
    return cur.doc.jobId;
  }
}

/**
 * A backup now taken shortly before a slot makes that slot's backup redundant: within half the gap between the
 * slot and the one before it, the item's newest point is closer to this slot than to the previous one. Only an
 * on-demand point counts: a scheduled catch-up that ran late stands for its own slot, and letting it cover the
 * next one too would stretch the gap between points to one and a half intervals after every outage.
 */
async function coveredBy(deps: Deps, item: ProtectedItem, slot: Date, previous: Date | undefined): Promise<boolean> {
  const last = item.lastBackupAt;
  if (!last) return false;
  if (last >= slot) return true;
  if (!previous || !item.lastRecoveryPointId || last.getTime() < slot.getTime() - (slot.getTime() - previous.getTime()) / 2) return false;
  // A point's id is its backup job's id.
  const job = await deps.repos.jobs.get(item.lastRecoveryPointId);
  return job?.doc.trigger === 'OnDemand';
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
    const previous = latestSlotAtOrBefore(policy.schedule, policy.timeZone, new Date(slot.getTime() - 1));
    for (const item of items) {
      if (item.policyName !== policy.name || (item.state !== 'Protected' && item.state !== 'ProtectionPending')) continue;
      // Azure Backup: "An initial backup will run in accordance with your backup schedule" after protection is
      // enabled (MicrosoftDocs/azure-docs articles/backup/backup-azure-arm-vms-prepare.md), so a slot that
      // passed before the item got its policy is not due: the first one is the next slot after protection.
      if (slot < (item.protectedAt ?? item.createdAt)) continue;
      // A backup that covers this slot (any after it, a backup now within half an interval before it) makes it done.
      if (await coveredBy(deps, item, slot, previous)) continue;
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
      const jobId = await claimSlot(deps, itemKey, slot, now);
      const { job, created } = await createJob(deps, { jobId, type: 'Backup', itemKey, trigger: 'Scheduled', params: newParams(backupParams, { slot: slot.toISOString() }) });
      if (created) result.jobsCreated++;
      else if (job.status === 'Queued' && !job.plan && now.getTime() - job.createdAt.getTime() >= RESEND_AFTER_MS) result.jobsResent++;
      else continue;
      await snapshotQueue.send({ jobId } satisfies SnapshotMessage);
    }
  };
  await Promise.all(Array.from({ length: Math.min(TICK_CONCURRENCY, due.length) }, worker));
  return result;
}
