import { QUEUES } from '../../config';
import { PermanentStepError } from '../../errors';
import type { BackupDiskPlan, Job } from '../../domain/model';
import { copySegment } from '../../engine/copy-segment';
import { decodeDelta, encodeDelta, type CellDelta } from '../../engine/manifest';
import { segmentLayout } from '../../engine/shards';
import { CancelledError, type CopyStats } from '../../engine/stats';
import type { SourceSnapshot } from '../../ports/storage';
import type { Deps } from '../../jobs/deps';
import { getJob, isTerminal, updateJob } from '../../jobs/jobs';
import { extendItemLock } from '../../jobs/lock';
import { cancelPoller } from '../../jobs/cancel';
import type { CopyMessage, FinalizeMessage } from './plan';
import { sharedSnapshotRead } from './grants';
import { checkpointBlob, segmentKey, shardBlobName } from '../../store/layout';
import type { SegmentRow } from '../../store/records';
import { previousImage, segmentCells, segmentSizeOf, writeSegmentPart } from './manifest-io';

/**
 * Step 2 of a backup, one message per segment of one disk. Resumes from its checkpoint after a redelivery;
 * when every segment of the job is done, the segment that notices sends the finalize message.
 */
export async function copyStep(deps: Deps, msg: CopyMessage): Promise<void> {
  const job = await getJob(deps, msg.jobId);
  if (isTerminal(job) || !job.plan || !job.itemKey) return;
  const disk = job.plan.find((d) => d.diskKey === msg.diskKey);
  if (!disk) throw new PermanentStepError('InvalidMessage', `Disk '${msg.diskKey}' is not part of job ${job.jobId}.`, 'No action needed: the message is discarded.');
  const key = segmentKey(disk.diskKey, msg.segment);
  const existing = await deps.repos.segments.get(job.jobId, key);
  // Done without a manifest part: finished by a version before manifest format 2; its checkpoint completes it.
  if (existing?.doc.state !== 'Done' || !existing.doc.part) {
    if (await copyOneSegment(deps, job, disk, msg.segment, existing?.doc)) return countDone(deps, job);
    return;
  }
  // A redelivery of a finished segment may have died between its row and the count: count from the rows.
  await recount(deps, job);
}

/** Copies one segment; true when it finished now (false when the job was cancelled). */
async function copyOneSegment(deps: Deps, job: Job, disk: BackupDiskPlan, index: number, row: SegmentRow | undefined): Promise<boolean> {
  const itemKey = job.itemKey!;
  const segment = segmentLayout(disk.sizeBytes, segmentSizeOf(deps, disk))[index];
  if (!segment) throw new PermanentStepError('InvalidMessage', `Segment ${index} is outside disk '${disk.name}'.`, 'No action needed: the message is discarded.');
  const key = segmentKey(disk.diskKey, index);
  const checkpoint = checkpointBlob(job.jobId, disk.diskKey, index);
  const previous = await previousImage(deps, (await deps.repos.items.get(itemKey))?.doc, disk, segment);
  // The job's shared SAS (grants.ts); a 403 renews it once for every segment, not once per segment.
  let sourceUrl: string | undefined;
  const grant = async (): Promise<SourceSnapshot> => deps.dataPlane.openSource((sourceUrl = await sharedSnapshotRead(deps, job.jobId, disk.snapshotId, sourceUrl)), { entra: disk.entraDataAccess });
  const baseSasUrl = disk.baseSnapshotId ? await sharedSnapshotRead(deps, job.jobId, disk.baseSnapshotId) : undefined;
  const resumeBlob = row && row.nextCell > 0 ? await deps.store.getObject(checkpoint) : undefined;
  const report = progressReporter(deps, job.jobId);
  const save = async (state: SegmentRow['state'], nextCell: number, delta: CellDelta, stats: CopyStats, part?: SegmentRow['part']): Promise<void> => {
    await deps.store.putObject(checkpoint, encodeDelta(delta));
    await deps.repos.segments.upsert({ jobId: job.jobId, segmentKey: key, state, nextCell, stats: { ...stats }, ...(part ? { part } : {}) });
    await report(stats);
  };
  try {
    const result = await copySegment(
      {
        segment,
        diskSize: disk.sizeBytes,
        shardSize: disk.shardSize,
        shardName: (n) => shardBlobName(itemKey, disk.diskKey, n),
        baseSasUrl,
        previous,
        resumeFromCell: resumeBlob ? row!.nextCell : undefined,
        resumeDelta: resumeBlob ? decodeDelta(resumeBlob) : undefined,
        concurrency: deps.config.copy.concurrency,
        diffWindow: deps.config.copy.diffWindow,
      },
      {
        source: await grant(),
        store: deps.store,
        renewSource: grant,
        isCancelled: cancelPoller(deps, job.jobId),
        saveCheckpoint: async (nextCell, delta, stats) => {
          await save('Pending', nextCell, delta, stats);
          await extendItemLock(deps, itemKey, job.jobId);
        },
      },
    );
    const part = await writeSegmentPart(deps, itemKey, job.jobId, disk, index, segment, segmentCells(previous, result.delta, segment));
    await save('Done', segment.end, result.delta, result.stats, part);
    return true;
  } catch (err) {
    if (!(err instanceof CancelledError)) throw err;
    await deps.repos.segments.upsert({ jobId: job.jobId, segmentKey: key, state: 'Cancelled', nextCell: 0, stats: {} });
    await deps.queues.queue(QUEUES.finalize).send({ jobId: job.jobId } satisfies FinalizeMessage);
    return false;
  }
}

/** Adds what a segment read since its last report to the job's bytesDone. */
function progressReporter(deps: Deps, jobId: string): (stats: CopyStats) => Promise<void> {
  let reported = 0;
  return async (stats) => {
    const delta = stats.sourceBytesRead - reported;
    reported = stats.sourceBytesRead;
    // Capped at the plan: a redelivered segment reads its bytes again, which is not more work done.
    await updateJob(deps, jobId, (j) => {
      j.bytesDone = Math.min(j.bytesTotal || Infinity, j.bytesDone + delta);
    });
  };
}

/**
 * Fan-in: the segment that just finished bumps the job's counter (ETag-guarded), so thousands of segments
 * cost one row update each instead of each reading every segment row. Only the segment that takes the
 * counter to the total sends finalize; finalize checks the rows itself, so a duplicate is harmless.
 */
async function countDone(deps: Deps, job: Job): Promise<void> {
  // Capped: after a re-drive raised the counter to the Done rows, a late count of one of them would overshoot.
  const j = await updateJob(deps, job.jobId, (x) => {
    x.segmentsDone = Math.min(x.segmentsTotal, x.segmentsDone + 1);
  });
  if (j.segmentsDone >= j.segmentsTotal) await deps.queues.queue(QUEUES.finalize).send({ jobId: job.jobId } satisfies FinalizeMessage);
}

async function recount(deps: Deps, job: Job): Promise<void> {
  const done = (await deps.repos.segments.all(job.jobId)).filter((r) => r.state === 'Done').length;
  await updateJob(deps, job.jobId, (j) => {
    if (j.segmentsDone >= done) return false;
    j.segmentsDone = done;
  });
  if (done >= job.segmentsTotal) await deps.queues.queue(QUEUES.finalize).send({ jobId: job.jobId } satisfies FinalizeMessage);
}
