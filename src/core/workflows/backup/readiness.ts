import { QUEUES } from '../../config';
import { PermanentStepError } from '../../errors';
import type { Job } from '../../domain/model';
import type { SnapshotInfo } from '../../ports/compute';
import type { Deps } from '../../jobs/deps';
import { updateJob } from '../../jobs/jobs';
import { extendItemLock } from '../../jobs/lock';
import { HOUR_MS, MINUTE_MS } from '../../domain/time';

/**
 * Premium SSD v2 and Ultra incremental snapshots copy in the background: "The value of [CompletionPercent] must be
 * 100 before you can use the snapshot for restoring disk or generate a SAS URI for downloading the underlying
 * data"; "Snapshots of other disk types always report 100%" (azure-compute-docs articles/virtual-machines/
 * disks-incremental-snapshots.md). The copy "can take hours", far longer than a queue's redeliveries: the step
 * looks, and while a copy runs it sends itself again with a visibility delay, which spends no delivery.
 */

/** Looks no closer than this, and no further apart than this, in Azure time (divided by the emulator's scale). */
const MIN_LOOK_MS = 30_000;
const MAX_LOOK_MS = 15 * MINUTE_MS;
/** A copy still running after this long is taken to be stuck (Azure states no bound). */
const MAX_COPY_MS = 24 * HOUR_MS;

const percentOf = (s: SnapshotInfo): number => s.completionPercent ?? 100;

/**
 * True when every snapshot of the plan can be downloaded. Otherwise the job shows the copy's progress, keeps its
 * item lock, and the snapshot step is sent again for when the copy should be further along; false then.
 */
export async function snapshotsReady(deps: Deps, job: Job): Promise<boolean> {
  const pending = (job.plan ?? []).filter((d) => d.copyPending);
  if (pending.length === 0) return true;
  // Cancelled while waiting: finalize undoes the backup (its snapshots deleted) instead of waiting on.
  if (job.cancelRequested) {
    await deps.queues.queue(QUEUES.finalize).send({ jobId: job.jobId });
    return false;
  }
  const looks = await Promise.all(pending.map(async (d) => ({ d, s: await deps.compute.getSnapshot(d.snapshotId) })));
  for (const { d, s } of looks) {
    if (!s)
      throw new PermanentStepError(
        'SnapshotNotFound',
        `The snapshot of disk '${d.name}' was deleted while its background copy ran.`,
        'Run the backup again; keep other tools from deleting snapshots tagged by vmbackup.',
      );
    if (s.copyError)
      throw new PermanentStepError(
        'SnapshotCopyFailed',
        `Azure's background copy of the snapshot of disk '${d.name}' failed (${s.copyError}).`,
        'Run the backup again; if it fails the same way, open a support request for the disk with Azure.',
      );
  }
  const left = looks.filter(({ s }) => percentOf(s!) < 100);
  const ready = new Set(looks.filter(({ s }) => percentOf(s!) >= 100).map(({ d }) => d.snapshotId));
  const percent = Math.min(...left.map(({ s }) => percentOf(s!)));
  const scale = deps.config.arm.timeScale;
  const started = new Date(job.startedAt ?? job.createdAt).getTime();
  const elapsed = deps.clock().getTime() - started;
  if (left.length > 0 && elapsed > MAX_COPY_MS / scale) {
    const names = left.map(({ d }) => d.name).join(', ');
    throw new PermanentStepError(
      'SnapshotCopyTimedOut',
      `The background copy of the snapshot of ${names} is at ${percent} % after ${Math.round((elapsed * scale) / HOUR_MS)} hours.`,
      'Check the snapshot in the Azure portal (completionPercent); run the backup again once Azure has finished the copy.',
    );
  }
  await updateJob(deps, job.jobId, (j) => {
    for (const p of j.plan ?? []) if (ready.has(p.snapshotId)) p.copyPending = undefined;
    j.phase = left.length ? `Waiting for snapshot: ${percent} %` : 'Copy';
    j.result = { ...j.result, snapshotCopyPercent: left.length ? percent : 100 };
  });
  if (left.length === 0) return true;
  if (job.itemKey) await extendItemLock(deps, job.itemKey, job.jobId);
  await deps.queues.queue(QUEUES.snapshot).send({ jobId: job.jobId }, { visibilityDelaySeconds: nextLookSeconds(deps, elapsed, percent) });
  return false;
}

/**
 * When to look again: when the copy should be done at the pace seen so far, within bounds, and before the item
 * lock (which shows the reconciler the job is alive) runs out.
 */
function nextLookSeconds(deps: Deps, elapsedMs: number, percent: number): number {
  const scale = deps.config.arm.timeScale;
  const estimate = (elapsedMs * (100 - percent)) / Math.max(percent, 1);
  const bounded = Math.min(Math.max(estimate, MIN_LOOK_MS / scale), MAX_LOOK_MS / scale, (deps.config.lockTtlSeconds * 1000) / 2);
  // Queue visibility is whole seconds.
  return Math.max(1, Math.ceil(bounded / 1000));
}
