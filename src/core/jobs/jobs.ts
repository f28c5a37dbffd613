import { randomBytes } from 'node:crypto';
import { jobNotFound, VmBackupError } from '../errors';
import { TERMINAL, type Job, type JobError, type JobStatus, type JobType } from '../domain/model';
import { EntityExistsError } from '../ports/tables';
import { redact } from '../redact';
import type { Deps } from './deps';
import { newestFirstKey } from '../store/layout';
import type { CheckedParams } from './params';

export function newJobId(createdAt: Date, suffix = randomBytes(6).toString('hex')): string {
  return `${newestFirstKey(createdAt)}-${suffix}`;
}

export async function createJob(deps: Deps, init: { jobId?: string; type: JobType; itemKey?: string; trigger?: Job['trigger']; params?: CheckedParams }): Promise<{ job: Job; created: boolean }> {
  const createdAt = deps.clock();
  const job: Job = {
    jobId: init.jobId ?? newJobId(createdAt),
    type: init.type,
    status: 'Queued',
    itemKey: init.itemKey,
    trigger: init.trigger,
    createdAt,
    bytesTotal: 0,
    bytesDone: 0,
    segmentsTotal: 0,
    segmentsDone: 0,
    warnings: [],
    params: init.params ?? {},
    result: {},
  };
  try {
    await deps.repos.jobs.insert(job);
    return { job, created: true };
  } catch (err) {
    if (!(err instanceof EntityExistsError)) throw err;
    // A deterministic id already taken means this job was created before (a retried tick): reuse it.
    const existing = await deps.repos.jobs.get(job.jobId);
    return { job: existing!.doc, created: false };
  }
}

export async function getJob(deps: Deps, jobId: string): Promise<Job> {
  const cur = await deps.repos.jobs.get(jobId);
  if (!cur) throw jobNotFound(jobId);
  return cur.doc;
}

export async function updateJob(deps: Deps, jobId: string, change: (j: Job) => boolean | void): Promise<Job> {
  const j = await deps.repos.jobs.update(jobId, change);
  if (!j) throw jobNotFound(jobId);
  return j;
}

export function toJobError(err: unknown): JobError {
  if (err instanceof VmBackupError) return { code: err.code, message: redact(err.message), recommendedAction: err.recommendedAction };
  const text = err instanceof Error ? err.message : String(err);
  return {
    code: 'InternalError',
    message: `The step failed: ${redact(text).slice(0, 500)}`,
    recommendedAction: 'Retry the operation. If it keeps failing, check the function app logs for this job id.',
  };
}

export async function finishJob(deps: Deps, jobId: string, status: JobStatus, error?: JobError): Promise<Job> {
  let ended = false;
  const job = await updateJob(deps, jobId, (j) => {
    ended = false;
    if (TERMINAL.has(j.status)) return false;
    j.status = status === 'Completed' && j.warnings.length > 0 ? 'CompletedWithWarnings' : status;
    j.endedAt = deps.clock();
    if (error) j.error = error;
    ended = true;
  });
  // Only the call that ended the job reports it: a redelivered finalize finds it terminal and stays quiet.
  if (ended) await jobEnded(deps, job);
  return job;
}

async function jobEnded(deps: Deps, job: Job): Promise<void> {
  try {
    deps.telemetry?.jobEnded(job);
    await deps.onJobEnded?.(job);
  } catch (err) {
    deps.log.warn('job-end telemetry or alert failed; the alert sweep retries alerts', { jobId: job.jobId, code: toJobError(err).code });
  }
}

export function isTerminal(j: Job): boolean {
  return TERMINAL.has(j.status);
}
