import { ConflictError, PermanentStepError } from '../../errors';
import type { Job } from '../../domain/model';
import { parseResourceId } from '../../ports/compute';
import type { Deps } from '../../jobs/deps';
import { finishJob, getJob, isTerminal, updateJob } from '../../jobs/jobs';
import { getPoint, requestRestore } from '../restore/restore';
import { restoredOf } from '../restore/plan';
import { cachingFor, checkHelper, freeLuns, helperDiskLimit } from './checks';
import { childRestoreKey, MOUNT_QUEUES, mountOf, mountParams, updateMount, type MountedDisk } from './plan';
import { teardown } from './teardown';

/** How long the mount step waits before it looks at its restore (or a busy item) again; no delivery is spent. */
const WAIT_SECONDS = 10;

/**
 * The one step of a mount, re-sent to itself while it waits: has the child restore make the point's disks
 * (instant from the source snapshots while they exist, else from the vault), then fixes a free LUN per disk on
 * a fresh read of the helper VM, attaches them in one update with host caching ReadOnly and deleteOption
 * Detach, and ends the job Completed with the deadline set. Every part is idempotent: a redelivery finds the
 * restore by its key, the LUNs on the job and the disks already attached.
 */
export async function mountStep(deps: Deps, msg: { jobId: string }): Promise<void> {
  const job = await getJob(deps, msg.jobId);
  if (isTerminal(job) || !job.itemKey) return;
  if (job.cancelRequested) return cancelMount(deps, job);
  const child = await childRestore(deps, job);
  if (!child || !isTerminal(child)) return wait(deps, job);
  if (child.status !== 'Completed' && child.status !== 'CompletedWithWarnings') {
    throw new PermanentStepError(
      'MountRestoreFailed',
      `The restore that makes the point's disks (job ${child.jobId}) ended ${child.status}: ${child.error?.message ?? 'no reason given'}`,
      child.error?.recommendedAction ?? 'Mount the point again, or another point.',
    );
  }
  const planned = await planLuns(deps, job, child);
  const vmId = mountParams(job).helperVmId;
  await deps.compute.attachDataDisks(
    vmId,
    mountOf(planned).disks!.map((d) => ({ lun: d.lun, diskId: d.diskId, caching: d.caching, deleteOption: 'Detach' })),
  );
  const now = deps.clock();
  await updateMount(deps, job.jobId, (m, j) => {
    if (m.state !== 'Mounting') return false;
    m.state = 'Mounted';
    m.mountedAt = now.toISOString();
    // The time to read files counts from when they can be read: a vault restore of a large disk takes hours.
    m.expiresAt = new Date(now.getTime() + mountParams(j).durationMinutes * 60_000).toISOString();
    j.phase = 'Mounted';
    j.segmentsDone = j.segmentsTotal;
  });
  await finishJob(deps, job.jobId, 'Completed');
}

const wait = (deps: Deps, job: Job): Promise<void> => deps.queues.queue(MOUNT_QUEUES.mount).send({ jobId: job.jobId }, { visibilityDelaySeconds: WAIT_SECONDS });

/** The child restore, asked for once by key (a replay returns the same job); undefined while the item is busy. */
async function childRestore(deps: Deps, job: Job): Promise<Job | undefined> {
  const m = mountOf(job);
  if (m.restoreJobId) return getJob(deps, m.restoreJobId);
  const p = mountParams(job);
  let child: Job;
  try {
    child = await requestRestore(deps, {
      itemKey: job.itemKey!,
      pointId: p.pointId,
      mode: 'newDisks',
      source: 'auto',
      targetResourceGroup: parseResourceId(p.helperVmId).resourceGroup,
      idempotencyKey: childRestoreKey(job.jobId),
    });
  } catch (err) {
    // A backup holds the item: the mount waits its turn instead of failing (the reconciler sees the live lock).
    if (err instanceof ConflictError && err.code === 'AnotherOperationInProgress') return undefined;
    throw err;
  }
  await updateJob(deps, job.jobId, (j) => {
    j.status = 'InProgress';
    j.startedAt ??= deps.clock();
    j.phase = 'RestoreDisks';
    j.segmentsTotal = 2;
    j.segmentsDone = 1;
    j.result = { ...j.result, mount: { ...mountOf(j), restoreJobId: child.jobId } };
  });
  return child;
}

/**
 * The LUNs, chosen once on a fresh read of the VM and recorded before the attach. The helper is checked again
 * (it may have changed since the request): a refusal now fails the job, and its cleanup deletes the disks.
 */
async function planLuns(deps: Deps, job: Job, child: Job): Promise<Job> {
  if (mountOf(job).disks) return job;
  const p = mountParams(job);
  const vm = await deps.compute.getVm(p.helperVmId);
  const item = (await deps.repos.items.get(job.itemKey!))?.doc;
  const point = await getPoint(deps, job.itemKey!, p.pointId);
  const limit = await helperDiskLimit(deps, vm);
  try {
    if (item) checkHelper(vm, p.helperVmId, item, point, limit);
  } catch (err) {
    const e = err as ConflictError;
    throw new PermanentStepError(e.code, e.message, e.recommendedAction);
  }
  const free = freeLuns(vm!, limit);
  const disks: MountedDisk[] = [];
  for (const [i, r] of restoredOf(child).entries()) {
    const info = await deps.compute.getDisk(r.diskId);
    const src = point.disks.find((d) => d.diskKey === r.diskKey);
    disks.push({
      diskKey: r.diskKey,
      sourceName: src?.name ?? r.diskKey,
      diskId: r.diskId,
      lun: free[i]!,
      caching: cachingFor({ sku: info?.sku, sizeBytes: info?.sizeBytes ?? 0 }),
      sizeBytes: info?.sizeBytes ?? src?.sizeBytes ?? 0,
      osDisk: r.lun < 0,
    });
  }
  return updateMount(deps, job.jobId, (m, j) => {
    if (m.disks) return false;
    m.disks = disks;
    j.phase = 'AttachDisks';
  });
}

/** A cancel before the disks were attached: the restore is cancelled, whatever exists of the mount goes. */
async function cancelMount(deps: Deps, job: Job): Promise<void> {
  await teardown(deps, job, 'Cancelled');
  await finishJob(deps, job.jobId, 'Cancelled');
}
