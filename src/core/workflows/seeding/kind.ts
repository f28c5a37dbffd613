import { QUEUES } from '../../config';
import type { Job } from '../../domain/model';
import { JobMessage } from '../../jobs/kind';
import type { Kind } from '../../jobs/deps';
import { failJob } from '../../jobs/run-step';
import { PermanentStepError } from '../../errors';
import { releaseJobSnapshots } from '../../jobs/job-snapshots';
import { jobWorkPrefix } from '../../store/layout';
import { exportStep } from './export';
import { importStep, removeImported } from './import';
import { exportParams, importParams, seedingParams } from './params';

/** Seeding jobs the command line runs against a local folder have no message the app could act on. */
// A row whose params do not parse is not the command line's: redriven, its step fails it with JobParamsInvalid.
const runByCommandLine = (job: Job): boolean => seedingParams.safeParse(job.params).data?.location.kind === 'folder';

function abandoned(job: Job, action: string): PermanentStepError {
  return new PermanentStepError('JobAbandoned', `${job.type} job ${job.jobId}, run by the command line, stopped a day ago without finishing.`, action);
}

export const exportKind: Kind = {
  type: 'Export',
  params: exportParams,
  steps: [{ name: 'exportPackage', queue: QUEUES.export, message: JobMessage, run: (deps, msg) => exportStep(deps, msg) }],
  cancellable: true,
  cleanup: (deps, job) => releaseJobSnapshots(deps, job, 'failed'),
  async sweep(deps, job) {
    await releaseJobSnapshots(deps, job, 'sweep');
    await deps.store.deletePrefix(jobWorkPrefix(job.jobId));
  },
  external: runByCommandLine,
  async redrive(deps, job) {
    if (!runByCommandLine(job)) return deps.queues.queue(QUEUES.export).send({ jobId: job.jobId });
    await failJob(deps, job.jobId, abandoned(job, 'Start a new export into an empty folder (a package folder belongs to the export that began it).'));
  },
};

export const importKind: Kind = {
  type: 'Import',
  params: importParams,
  steps: [{ name: 'importPackage', queue: QUEUES.import, message: JobMessage, run: (deps, msg) => importStep(deps, msg) }],
  cancellable: true,
  // A failed import leaves nothing behind: its shards belong to no recovery point.
  async cleanup(deps, job) {
    if (job.itemKey) await removeImported(deps, job.itemKey);
  },
  external: runByCommandLine,
  async redrive(deps, job) {
    if (!runByCommandLine(job)) return deps.queues.queue(QUEUES.import).send({ jobId: job.jobId });
    await failJob(deps, job.jobId, abandoned(job, 'Run the import again from the command line.'));
  },
};
