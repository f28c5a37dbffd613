import { PermanentStepError } from '../../errors';
import type { Job, RecoveryPointDisk } from '../../domain/model';
import { CELL } from '../../domain/ranges';
import { ManifestMismatchError, restoreDisk, type RestoreStats } from '../../engine/restore-disk';
import { ManifestFormatError } from '../../engine/manifest';
import { segmentLayout } from '../../engine/shards';
import { CancelledError } from '../../engine/stats';
import type { Deps } from '../../jobs/deps';
import { cancelPoller } from '../../jobs/cancel';
import { getJob, isTerminal, updateJob } from '../../jobs/jobs';
import { extendItemLock } from '../../jobs/lock';
import { segmentKey } from '../../store/layout';
import type { SegmentRow } from '../../store/records';
import { dataBytesBelow, getPoint, loadManifest, RESTORE_QUEUES, targetsOf, type RestoreTarget, type SegmentMessage } from './plan';
import { invocationBudget, renewingUploadTarget } from './upload-target';
import { paramsOf } from '../../jobs/params';
import { restoreParams } from './params';

/**
 * Step 2 of a restore, one message per segment of one disk: restores the segment from its checkpoint on, for at
 * most one invocation's budget (config stepBudget), then queues its own continuation; the segment that
 * completes the job's count sends finish.
 */
export async function restoreSegmentStep(deps: Deps, msg: SegmentMessage): Promise<void> {
  const job = await getJob(deps, msg.jobId);
  if (isTerminal(job) || !job.itemKey) return;
  const target = targetsOf(job)?.find((t) => t.diskKey === msg.diskKey);
  if (!target) throw new PermanentStepError('InvalidMessage', `Disk '${msg.diskKey}' is not part of job ${job.jobId}.`, 'No action needed: the message is discarded.');
  if (job.cancelRequested) return deps.queues.queue(RESTORE_QUEUES.finish).send({ jobId: job.jobId });
  const row = (await deps.repos.segments.get(job.jobId, segmentKey(target.diskKey, msg.segment)))?.doc;
  if (row?.state === 'Done') return recount(deps, job);
  const point = await getPoint(deps, job.itemKey, paramsOf(job, restoreParams).pointId);
  const disk = point.disks.find((d) => d.diskKey === target.diskKey)!;
  const outcome = await restoreSegment(deps, job, target, disk, msg.segment, row).catch((err: unknown) => doneByDuplicate(deps, job, target, msg.segment, err));
  if (outcome === 'doneByDuplicate') return;
  if (outcome === 'cancelled') return deps.queues.queue(RESTORE_QUEUES.finish).send({ jobId: job.jobId });
  if (outcome === 'yielded') return deps.queues.queue(RESTORE_QUEUES.segment).send({ jobId: job.jobId, diskKey: target.diskKey, segment: msg.segment } satisfies SegmentMessage);
  await countDone(deps, job);
}

/**
 * A queue may deliver a message twice at once. When the other delivery finished this segment first, the finish
 * step may already have sealed the disk (write access revoked, so a renewed grant is refused: not ready for
 * upload); this delivery's work was the same as the other's, and its failure is no failure of the restore.
 */
async function doneByDuplicate(deps: Deps, job: Job, t: RestoreTarget, index: number, err: unknown): Promise<'doneByDuplicate'> {
  const now = (await deps.repos.segments.get(job.jobId, segmentKey(t.diskKey, index)).catch(() => undefined))?.doc;
  if (now?.state !== 'Done') throw err;
  deps.log.info('a duplicate delivery finished this restore segment first; this one ends without counting it', { jobId: job.jobId, diskKey: t.diskKey, segment: index });
  return 'doneByDuplicate';
}

const unreadable = (disk: RecoveryPointDisk, err: Error): PermanentStepError =>
  new PermanentStepError('RecoveryPointCorrupt', `The manifest of disk '${disk.name}' cannot be read (${err.message}).`, 'Restore another recovery point; run verify on this one to mark it.');

async function restoreSegment(deps: Deps, job: Job, t: RestoreTarget, disk: RecoveryPointDisk, index: number, row: SegmentRow | undefined): Promise<'done' | 'yielded' | 'cancelled'> {
  const segment = segmentLayout(t.sizeBytes, t.segmentSize)[index];
  if (!segment) throw new PermanentStepError('InvalidMessage', `Segment ${index} is outside disk '${t.name}'.`, 'No action needed: the message is discarded.');
  const manifest = await loadManifest(deps, disk, segment).catch((err: unknown) => {
    if (err instanceof ManifestFormatError) throw unreadable(disk, err);
    throw err;
  });
  const key = segmentKey(t.diskKey, index);
  const from = Math.max(segment.start, (row?.nextCell ?? 0) * CELL);
  const doneBytes = dataBytesBelow(manifest, t.sizeBytes, segment.start, segment.end);
  const prior = row?.stats ?? {};
  let reported = doneBytes(row?.nextCell ?? 0);
  const save = async (state: SegmentRow['state'], nextCell: number, s: RestoreStats): Promise<void> => {
    const stats = { bytesWritten: (prior.bytesWritten ?? 0) + s.bytesWritten, bytesRead: (prior.bytesRead ?? 0) + s.bytesRead };
    await deps.repos.segments.upsert({ jobId: job.jobId, segmentKey: key, state, nextCell, stats });
    // The row first, then the job: a crash between them under-counts until finish sets the total.
    const now = doneBytes(nextCell);
    const delta = now - reported;
    reported = now;
    if (delta > 0)
      await updateJob(deps, job.jobId, (j) => {
        j.bytesDone = Math.min(j.bytesTotal, j.bytesDone + delta);
      });
    // As a backup copy does: the lock lives while checkpoints come; a segment that just ends needs none.
    if (state === 'Pending') await extendItemLock(deps, job.itemKey!, job.jobId);
  };
  try {
    const out = await restoreDisk(
      {
        diskSize: disk.sizeBytes,
        shardSize: disk.shardSize,
        shards: disk.shards,
        manifest,
        concurrency: deps.config.copy.concurrency,
        rangeWindow: deps.config.copy.diffWindow,
        span: { start: from, end: segment.end },
      },
      deps.store,
      renewingUploadTarget(deps, t.diskId, { entra: t.entraDataAccess }),
      { isCancelled: cancelPoller(deps, job.jobId), saveCheckpoint: (next, s) => save('Pending', next, s), admit: invocationBudget(deps.config.stepBudget) },
    );
    await save(out.complete ? 'Done' : 'Pending', out.nextCell, out);
    return out.complete ? 'done' : 'yielded';
  } catch (err) {
    if (err instanceof CancelledError) {
      await deps.repos.segments.upsert({ jobId: job.jobId, segmentKey: key, state: 'Cancelled', nextCell: 0, stats: {} });
      return 'cancelled';
    }
    if (err instanceof ManifestFormatError) throw unreadable(disk, err);
    if (err instanceof ManifestMismatchError) {
      throw new PermanentStepError(
        'RecoveryPointCorrupt',
        `The backup data of disk '${disk.name}' does not match its manifest (${err.cells.length} cell(s)).`,
        'Restore another recovery point; run verify on this one to mark it.',
      );
    }
    throw err;
  }
}

/** Fan-in as in a backup copy: one guarded counter update per segment; the one that reaches the total sends finish. */
async function countDone(deps: Deps, job: Job): Promise<void> {
  const j = await updateJob(deps, job.jobId, (x) => {
    x.segmentsDone = Math.min(x.segmentsTotal, x.segmentsDone + 1);
  });
  if (j.segmentsDone >= j.segmentsTotal) await deps.queues.queue(RESTORE_QUEUES.finish).send({ jobId: job.jobId });
}

async function recount(deps: Deps, job: Job): Promise<void> {
  const done = (await deps.repos.segments.all(job.jobId)).filter((r) => r.state === 'Done').length;
  await updateJob(deps, job.jobId, (j) => {
    if (j.segmentsDone >= done) return false;
    j.segmentsDone = Math.min(j.segmentsTotal, done);
  });
  if (done >= job.segmentsTotal) await deps.queues.queue(RESTORE_QUEUES.finish).send({ jobId: job.jobId });
}
