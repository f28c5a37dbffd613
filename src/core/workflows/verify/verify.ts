import type { Job, RecoveryPoint } from '../../domain/model';
import type { Deps } from '../../jobs/deps';
import { createJob, finishJob, getJob, isTerminal, updateJob } from '../../jobs/jobs';
import { newParams, paramsOf } from '../../jobs/params';
import { verifyParams } from './params';
import { getPoint } from '../restore/restore';
import { invocationBudget } from '../restore/upload-target';
import { countSpans, firstCheckpoint, verifySlice, type DiskVerdict, type VerifyCheckpoint } from './slice';

export const VERIFY_QUEUE = 'vmb-verify';

export interface VerifyResult {
  pointId: string;
  state: 'Verified' | 'Corrupt';
  disks: DiskVerdict[];
}

/**
 * Re-reads a recovery point's shard snapshots and checks every cell against its manifest, one manifest part (or,
 * for a format-1 manifest, one segment-sized span) at a time, so memory does not grow with the disk, in one go
 * (the job splits the same walk over deliveries: verifyStep). The verdict lands on the point.
 */
export async function verifyPoint(deps: Deps, itemKey: string, pointId: string): Promise<VerifyResult> {
  const point: RecoveryPoint = await getPoint(deps, itemKey, pointId);
  const cp = (await verifySlice(deps, point, firstCheckpoint(), { admit: () => true, save: async () => true }))!;
  return recordVerdict(deps, itemKey, pointId, cp);
}

async function recordVerdict(deps: Deps, itemKey: string, pointId: string, cp: VerifyCheckpoint): Promise<VerifyResult> {
  const ok = cp.disks.every((d) => d.ok);
  await deps.repos.points.update(itemKey, pointId, (x) => {
    if (ok) x.verifiedAt = deps.clock();
    else x.state = 'Corrupt';
  });
  return { pointId, state: ok ? 'Verified' : 'Corrupt', disks: cp.disks };
}

/**
 * Verify runs as a job, not inside the HTTP call: Azure answers an HTTP trigger for at most 230 seconds
 * (MicrosoftDocs azure-docs includes/functions-timeout-duration.md), and reading a point at a page blob's
 * 60 MiB/s takes longer than that past about 13 GiB.
 */
export async function requestVerify(deps: Deps, itemKey: string, pointId: string): Promise<Job> {
  await getPoint(deps, itemKey, pointId);
  const { job } = await createJob(deps, { type: 'Verify', itemKey, trigger: 'Api', params: newParams(verifyParams, { pointId }) });
  await deps.queues.queue(VERIFY_QUEUE).send({ jobId: job.jobId });
  return job;
}

/**
 * One delivery verifies as much of the point as one invocation's budget allows (config stepBudget: seconds, and
 * bytes when set), saving its checkpoint on the job after every few spans, then queues its own continuation; a
 * point larger than one invocation (some 13 GiB at a page blob's 60 MiB/s in 230 s, ~28 GiB in 480 s) is read
 * over several. A delivery killed part way is redelivered, or re-driven by the reconciler, and starts at the
 * checkpoint. Two deliveries at once race on the checkpoint: the one that saves first goes on, the other stops.
 */
export async function verifyStep(deps: Deps, msg: { jobId: string }): Promise<void> {
  const job = await getJob(deps, msg.jobId);
  if (isTerminal(job) || !job.itemKey) return;
  const { pointId } = paramsOf(job, verifyParams);
  const point = await getPoint(deps, job.itemKey, pointId);
  let cp = checkpointOf(job);
  if (!cp) {
    const total = await countSpans(deps, point);
    const started = await startVerify(deps, job.jobId, total);
    if (!started) return;
    cp = started;
  }
  const admit = invocationBudget(deps.config.stepBudget);
  const reached = await verifySlice(deps, point, cp, { admit, save: (prev, next) => saveCheckpoint(deps, job.jobId, prev, next) });
  if (!reached) return; // another delivery saved first and carries on
  if (reached.disk < point.disks.length) {
    await deps.queues.queue(VERIFY_QUEUE).send({ jobId: job.jobId });
    return;
  }
  await endVerify(deps, job.jobId, await recordVerdict(deps, job.itemKey, pointId, reached));
}

/** The checkpoint lives in the job's result while the job runs (the verdict replaces it at the end). */
export function checkpointOf(job: Job): VerifyCheckpoint | undefined {
  return job.result.checkpoint as VerifyCheckpoint | undefined;
}

/** When the checkpoint last moved: the reconciler counts a stall from it, not from the job's start. */
export function verifyProgressAt(job: Job): Date | undefined {
  const at = job.result.checkpointAt;
  return typeof at === 'string' ? new Date(at) : undefined;
}

async function startVerify(deps: Deps, jobId: string, total: { spans: number; bytes: number }): Promise<VerifyCheckpoint | undefined> {
  const j = await updateJob(deps, jobId, (x) => {
    if (isTerminal(x) || checkpointOf(x)) return false;
    x.status = 'InProgress';
    x.startedAt ??= deps.clock();
    x.bytesTotal = total.bytes;
    x.segmentsTotal = total.spans;
    x.result = { ...x.result, checkpoint: firstCheckpoint(), checkpointAt: deps.clock().toISOString() };
  });
  return isTerminal(j) ? undefined : checkpointOf(j);
}

const sameSpot = (a: VerifyCheckpoint, b: VerifyCheckpoint): boolean => a.disk === b.disk && a.span === b.span && a.spans === b.spans;

async function saveCheckpoint(deps: Deps, jobId: string, prev: VerifyCheckpoint, next: VerifyCheckpoint): Promise<boolean> {
  let saved = false;
  await updateJob(deps, jobId, (j) => {
    const cur = checkpointOf(j);
    saved = !isTerminal(j) && !!cur && sameSpot(cur, prev);
    if (!saved) return false;
    j.result = { ...j.result, checkpoint: next, checkpointAt: deps.clock().toISOString() };
    j.bytesDone = Math.min(j.bytesTotal, next.bytes);
    j.segmentsDone = Math.min(j.segmentsTotal, next.spans);
  });
  return saved;
}

async function endVerify(deps: Deps, jobId: string, r: VerifyResult): Promise<void> {
  await updateJob(deps, jobId, (j) => {
    j.result = { state: r.state, disks: r.disks };
    j.bytesTotal = Math.max(j.bytesTotal, j.bytesDone);
    j.bytesDone = j.bytesTotal;
    j.segmentsDone = j.segmentsTotal;
  });
  if (r.state === 'Verified') {
    await finishJob(deps, jobId, 'Completed');
    return;
  }
  const bad = r.disks
    .filter((d) => !d.ok)
    .map((d) => `${d.diskKey}: ${d.problem}`)
    .join('; ');
  await finishJob(deps, jobId, 'Failed', {
    code: 'RecoveryPointCorrupt',
    message: `Recovery point '${r.pointId}' does not match its manifest (${bad}); it is marked Corrupt and will not be restored.`,
    recommendedAction: 'Restore an older or newer recovery point, and take a new backup of the item.',
  });
}
