import { z } from 'zod';
import { QUEUES } from '../../config';
import { JobMessage } from '../../jobs/kind';
import type { Kind } from '../../jobs/deps';
import { releaseJobSnapshots } from '../../jobs/job-snapshots';
import { jobWorkPrefix } from '../../store/layout';
import { copyStep } from './copy';
import { finalizeStep } from './finalize';
import { dropUnfinishedManifest } from './manifest-io';
import { enqueuePendingSegments, snapshotStep } from './plan';
import { backupParams } from './params';

const CopyMessage = JobMessage.extend({ diskKey: z.string().min(1).max(64), segment: z.number().int().min(0) });

export const backupKind: Kind = {
  type: 'Backup',
  params: backupParams,
  steps: [
    { name: 'backupSnapshot', queue: QUEUES.snapshot, message: JobMessage, run: snapshotStep },
    { name: 'backupCopy', queue: QUEUES.copy, message: CopyMessage, run: copyStep },
    { name: 'backupFinalize', queue: QUEUES.finalize, message: JobMessage, run: finalizeStep },
  ],
  cancellable: true,
  async cleanup(deps, job) {
    await releaseJobSnapshots(deps, job, 'failed');
    await deps.store.deletePrefix(jobWorkPrefix(job.jobId));
    await dropUnfinishedManifest(deps, job);
  },
  async sweep(deps, job) {
    await releaseJobSnapshots(deps, job, 'sweep');
    await deps.store.deletePrefix(jobWorkPrefix(job.jobId));
    await dropUnfinishedManifest(deps, job);
  },
  async redrive(deps, job) {
    const msg = { jobId: job.jobId };
    if (!job.plan) return deps.queues.queue(QUEUES.snapshot).send(msg);
    if (job.cancelRequested) return deps.queues.queue(QUEUES.finalize).send(msg);
    return enqueuePendingSegments(deps, job);
  },
};
