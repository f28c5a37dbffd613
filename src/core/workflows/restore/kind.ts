import { JobMessage } from '../../jobs/kind';
import type { Deps, Kind } from '../../jobs/deps';
import { deleteUnfinished, restoreFinishStep } from './finish';
import { enqueuePendingSegments, RESTORE_QUEUES, SegmentMessage, targetsOf } from './plan';
import { restoreSegmentStep } from './segment';
import { restoreStartStep } from './start';
import { restoreParams } from './params';
import { deleteUnrecordedInstantDisks } from './instant';
import type { Job } from '../../domain/model';

async function deleteUnfinishedDisks(deps: Deps, job: Job): Promise<void> {
  await deleteUnfinished(deps, job);
  await deleteUnrecordedInstantDisks(deps, job);
}

export const restoreKind: Kind = {
  type: 'Restore',
  params: restoreParams,
  steps: [
    { name: 'restoreStart', queue: RESTORE_QUEUES.start, message: JobMessage, run: restoreStartStep },
    { name: 'restoreSegment', queue: RESTORE_QUEUES.segment, message: SegmentMessage, run: restoreSegmentStep },
    { name: 'restoreFinish', queue: RESTORE_QUEUES.finish, message: JobMessage, run: restoreFinishStep },
  ],
  cancellable: true,
  // A failed restore leaves no half-written disk behind; the disks it finished stay, listed in its result.
  cleanup: deleteUnfinishedDisks,
  sweep: deleteUnfinishedDisks,
  async redrive(deps, job) {
    const msg = { jobId: job.jobId };
    if (!targetsOf(job)) return deps.queues.queue(RESTORE_QUEUES.start).send(msg);
    if (job.cancelRequested) return deps.queues.queue(RESTORE_QUEUES.finish).send(msg);
    return enqueuePendingSegments(deps, job);
  },
};
