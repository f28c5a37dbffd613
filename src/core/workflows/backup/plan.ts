import { randomUUID } from 'node:crypto';
import { QUEUES } from '../../config';
import { itemNotFound, PermanentStepError, TransientError } from '../../errors';
import type { BackupDiskPlan, Consistency, Job, ProtectedItem } from '../../domain/model';
import type { SnapshotInfo, VmInfo } from '../../ports/compute';
import { segmentLayout, shardLayout } from '../../engine/shards';
import type { Deps } from '../../jobs/deps';
import { acquireItemLock, extendItemLock } from '../../jobs/lock';
import { getJob, isTerminal, updateJob } from '../../jobs/jobs';
import { freezeAndSnapshot, type ConsistencyOutcome } from './consistency';
import { grantJobSnapshots } from './grants';
import { decideCopy } from './lineage';
import { snapshotsReady } from './readiness';
import { eligibilityProblem } from '../protection/eligibility';
import { heldByOther, leaseWaitSeconds, releaseLease, takeLease } from '../../jobs/job-lease';
import { diskKeyFor, segmentKey, shardBlobName } from '../../store/layout';
import { fanOutOrder, shardSizeFor } from './fan-out';

export interface SnapshotMessage {
  jobId: string;
}
export interface CopyMessage {
  jobId: string;
  diskKey: string;
  segment: number;
}
export interface FinalizeMessage {
  jobId: string;
}

function vmGone(item: ProtectedItem): PermanentStepError {
  return new PermanentStepError(
    'VmNotFound',
    `The virtual machine '${item.vmName}' no longer exists, so it cannot be backed up.`,
    'Stop protection and retain the backup data, or restore the VM from an existing recovery point.',
  );
}

/**
 * Step 1 of a backup: lock the item, reach the policy's consistency, take an incremental snapshot of every
 * disk, decide per disk between diff and full copy, prepare the shards, then fan out one copy message per
 * segment. Safe to run again: a redelivery after the plan was written only re-sends the copy messages.
 */
export async function snapshotStep(deps: Deps, msg: SnapshotMessage): Promise<void> {
  let job = await getJob(deps, msg.jobId);
  if (isTerminal(job) || !job.itemKey) return;
  const itemKey = job.itemKey;
  if (!job.plan) {
    await acquireItemLock(deps, itemKey, job.jobId);
    // Claim the planning: two deliveries planning at once could reset shards under a running copy.
    const me = randomUUID();
    const now = deps.clock().getTime();
    let claimed = true;
    job = await updateJob(deps, job.jobId, (j) => {
      if (j.plan || heldByOther(j, 'planner', me, now)) {
        claimed = false;
        return false;
      }
      j.status = 'InProgress';
      j.startedAt ??= deps.clock();
      j.phase = 'Snapshot';
      takeLease(j, 'planner', me, now, deps.config.lockTtlSeconds * 1000);
    });
    if (!claimed) {
      if (job.plan) return enqueuePendingSegments(deps, job);
      // Another delivery holds the planning lease (or died holding it). Look again later without spending
      // this message's delivery count, which would otherwise fail the job before the lease runs out.
      const delay = leaseWaitSeconds(job, 'planner', now, 5, 60);
      await deps.queues.queue(QUEUES.snapshot).send({ jobId: job.jobId } satisfies SnapshotMessage, { visibilityDelaySeconds: delay });
      return;
    }
    try {
      const cur = await deps.repos.items.get(itemKey);
      if (!cur) throw itemNotFound(itemKey);
      const item = cur.doc;
      const vm = await deps.compute.getVm(item.vmId);
      if (!vm) throw vmGone(item);
      // A disk Azure cannot snapshot or export may have been attached since registration: say so, not fail later.
      const problem = eligibilityProblem(vm, { entraDataAccess: deps.dataPlane.entraDataAccess });
      if (problem) throw problem;
      const policy = item.policyName ? (await deps.repos.policies.get(item.policyName))?.doc : undefined;
      const shot = await freezeAndSnapshot(deps, job, item, vm, policy?.consistency);
      const plan = await planDisks(deps, item, vm, shot.snapshots);
      job = await recordPlan(deps, job.jobId, plan, shot);
    } catch (err) {
      // Give the planning lease back so the redelivery can try at once and count toward the poison limit.
      await releaseLease(deps, job.jobId, 'planner', me);
      if (!(err instanceof TransientError && err.code === 'SnapshotRateLimited')) throw err;
      // Azure's 7 snapshots per disk per 5 minutes: come back when the window allows one, without a delivery spent.
      await waitForSnapshotWindow(deps, job, err);
      return;
    }
  }
  await enqueuePendingSegments(deps, job);
}

/** Writes the plan on the job, unless a concurrent delivery got there first (its plan stands). */
async function recordPlan(deps: Deps, jobId: string, plan: BackupDiskPlan[], shot: ConsistencyOutcome): Promise<Job> {
  return updateJob(deps, jobId, (j) => {
    if (j.plan) return false; // a concurrent delivery got here first; its plan stands
    j.plan = plan;
    j.consistency = shot.consistency;
    j.disksConsistentSet = shot.disksConsistentSet;
    j.result = { ...j.result, disksConsistentSet: shot.disksConsistentSet };
    j.warnings.push(...shot.warnings, ...plan.flatMap((d) => (d.fullReason ? [`Disk '${d.name}' is copied whole because ${d.fullReason}.`] : [])));
    j.phase = 'Copy';
    j.segmentsTotal = plan.reduce((n, d) => n + d.segments, 0);
    // The planned work is the span of every disk the segments cover; bytesDone (source bytes read) stays
    // within it, and the percent follows the segments, which an incremental backup mostly skips through.
    j.bytesTotal = plan.reduce((n, d) => n + d.sizeBytes, 0);
  });
}

async function waitForSnapshotWindow(deps: Deps, job: Job, err: TransientError): Promise<void> {
  const seconds = Math.max(1, Math.ceil((err.retryAfterMs ?? 60_000) / deps.config.arm.timeScale / 1000));
  await updateJob(deps, job.jobId, (j) => {
    j.phase = `Waiting for snapshot window: ${err.message}`;
  });
  if (job.itemKey) await extendItemLock(deps, job.itemKey, job.jobId);
  await deps.queues.queue(QUEUES.snapshot).send({ jobId: job.jobId } satisfies SnapshotMessage, { visibilityDelaySeconds: seconds });
}

async function planDisks(deps: Deps, item: ProtectedItem, vm: VmInfo, snapshots: Map<string, SnapshotInfo>): Promise<BackupDiskPlan[]> {
  const { segmentSize } = deps.config.copy;
  const plan: BackupDiskPlan[] = [];
  for (const disk of vm.disks) {
    const diskKey = diskKeyFor(disk.lun);
    const known = item.disks.find((d) => d.diskKey === diskKey);
    const shardSize = await shardSizeFor(deps, item, known);
    const shot = snapshots.get(disk.diskId)!;
    const { full, fullReason, baseSnapshotId } = await decideCopy(deps, known, disk, shot);
    const sector = shot.logicalSectorSize ?? disk.profile?.logicalSectorSize;
    for (const s of shardLayout(disk.sizeBytes, shardSize)) {
      const name = shardBlobName(item.itemKey, diskKey, s.index);
      const size = s.span.end - s.span.start;
      if (full && known?.lastManifest) await deps.store.resetShard(name, size);
      else await deps.store.ensureShard(name, size);
    }
    plan.push({
      diskKey,
      diskId: disk.diskId,
      name: disk.name,
      lun: disk.lun,
      sizeBytes: disk.sizeBytes,
      snapshotId: shot.id,
      baseSnapshotId,
      full,
      fullReason,
      segments: segmentLayout(disk.sizeBytes, segmentSize).length,
      segmentSize,
      shardSize,
      // Premium SSD v2 and Ultra: readable once the background copy completes (readiness.ts).
      ...((shot.completionPercent ?? 100) < 100 ? { copyPending: true } : {}),
      ...(sector ? { logicalSectorSize: sector } : {}),
      // Its snapshot inherits the mode, and is read with the app's Entra token as well as the SAS.
      ...(disk.dataAccessAuthMode === 'AzureActiveDirectory' ? { entraDataAccess: true } : {}),
    });
  }
  return plan;
}

export async function enqueuePendingSegments(deps: Deps, job: Job): Promise<void> {
  const done = new Set((await deps.repos.segments.all(job.jobId)).filter((s) => s.state === 'Done').map((s) => s.segmentKey));
  // A process that died between a segment's Done row and the job's count left the counter short; that
  // segment gets no message below, so without this the last segment would never see the total and the job
  // would wait for a finalize that no one sends.
  if (done.size > job.segmentsDone) {
    await updateJob(deps, job.jobId, (j) => {
      if (j.segmentsDone >= done.size) return false;
      j.segmentsDone = done.size;
    });
  }
  // A snapshot still in its background copy cannot be granted: the step looks again later instead.
  if (!(await snapshotsReady(deps, job))) return;
  await grantJobSnapshots(deps, job);
  const q = deps.queues.queue(QUEUES.copy);
  const sends: Promise<void>[] = [];
  for (const m of fanOutOrder(job.plan ?? [], deps.config.copy.segmentSize)) {
    if (!done.has(segmentKey(m.diskKey, m.segment))) sends.push(q.send({ jobId: job.jobId, ...m } satisfies CopyMessage));
  }
  await Promise.all(sends);
  if (sends.length === 0) await deps.queues.queue(QUEUES.finalize).send({ jobId: job.jobId } satisfies FinalizeMessage);
}

export type { Consistency };
