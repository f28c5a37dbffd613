import { TERMINAL, type Job, type JobStatus, type JobType, type ProtectedItem, type RecoveryPoint } from '../domain/model';
import type { Deps } from '../jobs/deps';
import { getJob } from '../jobs/jobs';
import { newestFirstKey } from '../store/layout';
import { itemNotFound } from '../errors';
import { DAY_MS } from '../domain/time';

export interface JobFilter {
  type?: JobType;
  status?: JobStatus;
  itemKey?: string;
  from?: Date;
  to?: Date;
  top: number;
  continuation?: string;
}

/** A job as the API shows it: progress with throughput and an ETA where one can be estimated. */
/** `cancellable` comes from the job's kind, so a client need not know which kinds can be cancelled. */
export function jobView(job: Job, now: Date, cancellable = false): Record<string, unknown> {
  const started = job.startedAt?.getTime();
  const elapsedS = started ? Math.max(0.001, ((job.endedAt ?? now).getTime() - started) / 1000) : undefined;
  const throughput = elapsedS && job.bytesDone ? Math.round(job.bytesDone / elapsedS) : undefined;
  const fraction = progressFraction(job);
  const etaSeconds = elapsedS && fraction && fraction > 0 && fraction < 1 && !job.endedAt ? Math.round((elapsedS * (1 - fraction)) / fraction) : undefined;
  const { plan, leases: _leases, ...rest } = job;
  return {
    ...rest,
    cancellable: cancellable && !TERMINAL.has(job.status) && job.status !== 'Cancelling',
    disks: plan?.map((d) => ({ diskKey: d.diskKey, name: d.name, lun: d.lun, sizeBytes: d.sizeBytes, full: d.full, segments: d.segments })),
    progress: {
      bytesDone: job.bytesDone,
      bytesTotal: job.bytesTotal,
      segmentsDone: job.segmentsDone,
      segmentsTotal: job.segmentsTotal,
      percent: fraction !== undefined ? Math.round(fraction * 1000) / 10 : undefined,
      throughputBytesPerSecond: throughput,
      etaSeconds,
    },
  };
}

/**
 * How far a job is, 0..1: exactly 1 when it Completed with work to measure, never 1 before. A backup is
 * measured by its segments (its bytes count reads, which an incremental mostly skips); the other jobs by
 * their bytes, or their segments when they count no bytes.
 */
export function progressFraction(job: Job): number | undefined {
  const bySegments = job.segmentsTotal > 0 && (job.type === 'Backup' || job.bytesTotal === 0);
  const raw = bySegments ? job.segmentsDone / job.segmentsTotal : job.bytesTotal > 0 ? job.bytesDone / job.bytesTotal : undefined;
  if (raw === undefined) return undefined;
  if (job.status === 'Completed' || job.status === 'CompletedWithWarnings') return 1;
  return Math.min(0.999, Math.max(0, raw));
}

export async function listJobs(deps: Deps, f: JobFilter): Promise<{ items: Job[]; continuation?: string }> {
  const where: Record<string, string> = {};
  if (f.type) where.type = f.type;
  if (f.status) where.status = f.status;
  if (f.itemKey) where.itemKey = f.itemKey;
  return deps.repos.jobs.list({
    where,
    top: f.top,
    continuation: f.continuation,
    // Keys sort newest first, so "to" is the lower bound and "from" the upper one.
    rowKeyFrom: f.to ? newestFirstKey(f.to) : undefined,
    rowKeyTo: f.from ? newestFirstKey(new Date(f.from.getTime() - 1)) : undefined,
  });
}

export async function jobDetails(deps: Deps, jobId: string): Promise<Record<string, unknown>> {
  const job = await getJob(deps, jobId);
  return jobView(job, deps.clock(), !!deps.kinds.of(job.type)?.cancellable);
}

export async function getItem(deps: Deps, itemKey: string): Promise<ProtectedItem> {
  const i = await deps.repos.items.get(itemKey);
  if (!i) throw itemNotFound(itemKey);
  return i.doc;
}

export function itemView(i: ProtectedItem, now: Date): Record<string, unknown> {
  const { lockOwner, lockExpiresAt, ...rest } = i;
  const busy = !!(lockOwner && lockExpiresAt && lockExpiresAt > now);
  return { ...rest, busy, activeJobId: busy ? lockOwner : undefined };
}

export async function listPoints(deps: Deps, itemKey: string, includeDeleted: boolean): Promise<RecoveryPoint[]> {
  await getItem(deps, itemKey);
  const all = await deps.repos.points.all(itemKey);
  return includeDeleted ? all : all.filter((p) => p.state !== 'SoftDeleted');
}

export function pointView(p: RecoveryPoint): Record<string, unknown> {
  return {
    pointId: p.pointId,
    itemKey: p.itemKey,
    createdAt: p.createdAt,
    consistency: p.consistency,
    // Whether the disks together are write-order consistent (one disk, or the guest held quiesced across all).
    disksConsistentSet: p.disksConsistentSet,
    state: p.state,
    expiresAt: p.expiresAt,
    deletedAt: p.deletedAt,
    verifiedAt: p.verifiedAt,
    jobId: p.jobId,
    sizeBytes: p.disks.reduce((n, d) => n + d.sizeBytes, 0),
    changedBytes: p.disks.reduce((n, d) => n + d.changedBytes, 0),
    bytesUploaded: p.disks.reduce((n, d) => n + d.bytesUploaded, 0),
    disks: p.disks.map((d) => ({ diskKey: d.diskKey, name: d.name, lun: d.lun, sizeBytes: d.sizeBytes, changedBytes: d.changedBytes, bytesUploaded: d.bytesUploaded, digest: d.digest })),
  };
}

export async function dashboard(deps: Deps): Promise<Record<string, unknown>> {
  const now = deps.clock();
  const items = await deps.repos.items.all();
  const byState: Record<string, number> = {};
  for (const i of items) byState[i.state] = (byState[i.state] ?? 0) + 1;
  const since = new Date(now.getTime() - DAY_MS);
  const jobs = await deps.repos.jobs.all({ rowKeyTo: newestFirstKey(since) });
  const jobsByStatus: Record<string, number> = {};
  for (const j of jobs) jobsByStatus[j.status] = (jobsByStatus[j.status] ?? 0) + 1;
  let logical = 0,
    uploaded = 0,
    points = 0;
  for (const i of items) {
    for (const p of await deps.repos.points.all(i.itemKey)) {
      if (p.state === 'SoftDeleted') continue;
      points++;
      for (const d of p.disks) {
        logical += d.sizeBytes;
        uploaded += d.bytesUploaded;
      }
    }
  }
  return {
    protectedItems: { total: items.length, byState },
    jobsLast24h: { total: jobs.length, byStatus: jobsByStatus },
    storage: { recoveryPoints: points, logicalBytes: logical, storedBytes: uploaded },
  };
}
