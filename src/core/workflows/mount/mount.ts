import { ConflictError, itemNotFound, NotFoundError, ValidationError } from '../../errors';
import type { Job } from '../../domain/model';
import { DAY_MS } from '../../domain/time';
import { parseResourceId } from '../../ports/compute';
import type { Deps } from '../../jobs/deps';
import { createJobOnce } from '../../jobs/idempotency';
import { getJob, isTerminal, toJobError } from '../../jobs/jobs';
import { requestCancel } from '../../jobs/run-step';
import { newestFirstKey } from '../../store/layout';
import { getPoint } from '../restore/restore';
import { checkHelper, helperDiskLimit } from './checks';
import { readCommands } from './commands';
import { DEFAULT_MOUNT_MINUTES, MAX_MOUNT_MINUTES, MOUNT_QUEUES, mountOf, mountParams, updateMount, type MountRecord } from './plan';
import { teardown } from './teardown';
import { newParams } from '../../jobs/params';
import { mountParamsSchema } from './params';

export interface MountRequest {
  itemKey: string;
  pointId: string;
  /** Full resource id of the VM the disks are attached to. */
  helperVmId: string;
  /** How long the disks stay attached once mounted (default 60, at most 7 days). */
  durationMinutes?: number;
  idempotencyKey?: string;
}

/** What GET of a mount answers: its state, the disks at their LUNs, the deadline and how to read the files. */
export interface MountView extends MountRecord {
  mountId: string;
  itemKey: string;
  pointId: string;
  jobStatus: Job['status'];
  durationMinutes: number;
  commands: string[];
  error?: Job['error'];
}

function durationOf(req: MountRequest): number {
  const d = req.durationMinutes ?? DEFAULT_MOUNT_MINUTES;
  if (!Number.isInteger(d) || d < 1 || d > MAX_MOUNT_MINUTES) {
    throw new ValidationError(
      `durationMinutes must be a whole number from 1 to ${MAX_MOUNT_MINUTES} (7 days); got ${d}.`,
      'Send a shorter duration, and mount again later if you need more time.',
      undefined,
      'InvalidMountDuration',
    );
  }
  return d;
}

/**
 * Every check first, nothing created if one fails: the point exists and is not deleted or corrupt, the item is
 * not busy, and the helper VM exists, can take an update, is in the disks' region and zone, and has a free LUN
 * per disk (checks.ts). Then a Mount job is queued; a retry with the same Idempotency-Key gets that job.
 */
export async function requestMount(deps: Deps, req: MountRequest): Promise<Job> {
  const durationMinutes = durationOf(req);
  try {
    parseResourceId(req.helperVmId);
  } catch {
    throw new ValidationError(
      `helperVmId '${req.helperVmId}' is not a VM resource id.`,
      'Pass /subscriptions/<id>/resourceGroups/<group>/providers/Microsoft.Compute/virtualMachines/<name>.',
      undefined,
      'InvalidHelperVmId',
    );
  }
  const item = (await deps.repos.items.get(req.itemKey))?.doc;
  if (!item) throw itemNotFound(req.itemKey);
  const point = await getPoint(deps, req.itemKey, req.pointId);
  if (point.state !== 'Available') {
    throw new ConflictError(
      point.state === 'SoftDeleted' ? 'RecoveryPointSoftDeleted' : 'RecoveryPointCorrupt',
      `Recovery point '${req.pointId}' is ${point.state} and cannot be mounted.`,
      point.state === 'SoftDeleted' ? 'Undelete the recovery point first, then mount it.' : 'Mount an older or newer recovery point.',
    );
  }
  const helper = await deps.compute.getVm(req.helperVmId);
  checkHelper(helper, req.helperVmId, item, point, await helperDiskLimit(deps, helper));
  const params = newParams(mountParamsSchema, { pointId: req.pointId, helperVmId: req.helperVmId, durationMinutes });
  const { job } = await createJobOnce(
    deps,
    req.idempotencyKey,
    JSON.stringify(['mount', req.itemKey, params]),
    { type: 'Mount', itemKey: req.itemKey, trigger: 'Api', params },
    async () => {},
    (j) => deps.queues.queue(MOUNT_QUEUES.mount).send({ jobId: j.jobId }),
  );
  return job;
}

async function mountJob(deps: Deps, mountId: string): Promise<Job> {
  const job = await getJob(deps, mountId).catch(() => undefined);
  if (job?.type !== 'Mount') throw new NotFoundError('MountNotFound', `Mount '${mountId}' was not found.`, 'List the mounts with GET /api/jobs?type=Mount and use a jobId from it.');
  return job;
}

export async function getMount(deps: Deps, mountId: string): Promise<MountView> {
  return mountView(deps, await mountJob(deps, mountId));
}

export async function mountView(deps: Deps, job: Job): Promise<MountView> {
  const m = mountOf(job);
  const vm = m.state === 'Mounted' ? await deps.compute.getVm(m.helperVmId).catch(() => undefined) : undefined;
  return {
    mountId: job.jobId,
    itemKey: job.itemKey ?? '',
    pointId: mountParams(job).pointId,
    jobStatus: job.status,
    durationMinutes: mountParams(job).durationMinutes,
    ...m,
    commands: m.state === 'Mounted' && m.disks ? readCommands(vm?.osType, m.disks) : [],
    ...(job.error ? { error: job.error } : {}),
  };
}

/**
 * Unmount on request: a mount still being made is cancelled (its step takes it apart), a mounted one is marked
 * Unmounting and its unmount step queued. Unmounting twice is not an error: the second call answers the state.
 */
export async function requestUnmount(deps: Deps, mountId: string): Promise<MountView> {
  const job = await mountJob(deps, mountId);
  if (!isTerminal(job)) {
    await requestCancel(deps, job.jobId);
    return getMount(deps, mountId);
  }
  const m = mountOf(job);
  if (m.state !== 'Mounted' && m.state !== 'Unmounting') return mountView(deps, job);
  await updateMount(deps, job.jobId, (x) => {
    if (x.state !== 'Mounted') return false;
    x.state = 'Unmounting';
  });
  await deps.queues.queue(MOUNT_QUEUES.unmount).send({ jobId: job.jobId });
  return getMount(deps, mountId);
}

export async function unmountStep(deps: Deps, msg: { jobId: string }): Promise<void> {
  const job = await getJob(deps, msg.jobId);
  const state = mountOf(job).state;
  if (state === 'Unmounting') await teardown(deps, job, 'Requested');
}

/**
 * The deadline, kept by the reconciler: every mount past its expiresAt is taken apart at the next run, so a
 * deadline that passed while the app was down (or whose run failed) is met at the first run after. Mounts
 * live at most 7 days, so the jobs of the last 8 are enough to look at.
 */
export async function expireMounts(deps: Deps, now: Date): Promise<number> {
  const since = newestFirstKey(new Date(now.getTime() - (MAX_MOUNT_MINUTES * 60_000 + DAY_MS)));
  let expired = 0;
  for (const status of ['Completed', 'CompletedWithWarnings'] as const) {
    for (const job of await deps.repos.jobs.all({ where: { type: 'Mount', status }, rowKeyTo: since })) {
      const m = mountOf(job);
      const due = m.expiresAt && Date.parse(m.expiresAt) <= now.getTime();
      if (m.state === 'Unmounting' || (m.state === 'Mounted' && due)) {
        try {
          await teardown(deps, job, m.state === 'Unmounting' ? 'Requested' : 'Expired');
          expired++;
        } catch (err) {
          deps.log.warn('mount teardown failed; the next reconciler run retries', { jobId: job.jobId, code: toJobError(err).code });
        }
      }
    }
  }
  return expired;
}
