import { itemNotFound, PermanentStepError } from '../../errors';
import type { Job } from '../../domain/model';
import { vhdFooter } from '../../engine/vhd';
import type { Deps } from '../../jobs/deps';
import { finishJob, getJob, isTerminal, updateJob } from '../../jobs/jobs';
import { acquireItemLock, releaseItemLock } from '../../jobs/lock';
import { segmentKey } from '../../store/layout';
import { RESTORE_QUEUES, restoredOf, targetsOf, type RestoreTarget } from './plan';
import { heldByOther, leaseWaitSeconds, releaseLease, takeLease } from '../../jobs/job-lease';
import type { SegmentRow } from '../../store/records';
import { randomUUID } from 'node:crypto';
import { replaceOf, replaceVmDisks, rollBackReplace } from './replace-swap';
import { renewingUploadTarget } from './upload-target';
import { createNewVm, deleteNewVm } from './new-vm';
import { uploadGuestState } from './guest-state';
import { paramsOf } from '../../jobs/params';
import { restoreParams } from './params';

/**
 * Step 3 of a restore: once every segment of every disk is done (each verified cell by cell against the
 * manifest as it was written), end each upload (the VHD footer, then revoking write access, which makes the
 * disk usable), swap the disks in for replaceDisks, and release the item. A rerun skips what it did.
 */
export async function restoreFinishStep(deps: Deps, msg: { jobId: string }): Promise<void> {
  const job = await getJob(deps, msg.jobId);
  if (isTerminal(job) || !job.itemKey) return;
  const targets = targetsOf(job);
  if (!targets) return;
  if (job.cancelRequested) return cancelRestore(deps, job);
  const rows = await deps.repos.segments.all(job.jobId);
  const done = new Map(rows.filter((r) => r.state === 'Done').map((r) => [r.segmentKey, r]));
  // Every segment of every disk, by name: a count alone would let a duplicate row stand in for a missing one.
  if (!targets.every((t) => [...Array(t.segments).keys()].every((n) => done.has(segmentKey(t.diskKey, n))))) return;
  const me = await claimFinish(deps, job);
  if (!me) return;
  try {
    await finishDisks(deps, job, targets, done);
  } catch (err) {
    await releaseLease(deps, job.jobId, 'finisher', me);
    throw err;
  }
}

/**
 * One delivery finishes at a time: two at once (a queue may deliver a message twice, and the last segments may
 * each send finish) would seal a disk under each other, one revoking the write access the other still uses.
 * The other comes back when the lease runs out, without spending its delivery, and finds the job ended.
 */
async function claimFinish(deps: Deps, job: Job): Promise<string | undefined> {
  const me = randomUUID();
  const now = deps.clock().getTime();
  let claimed = true;
  const j = await updateJob(deps, job.jobId, (x) => {
    if (heldByOther(x, 'finisher', me, now)) {
      claimed = false;
      return false;
    }
    takeLease(x, 'finisher', me, now, deps.config.lockTtlSeconds * 1000);
  });
  if (claimed) return me;
  await deps.queues.queue(RESTORE_QUEUES.finish).send({ jobId: job.jobId }, { visibilityDelaySeconds: leaseWaitSeconds(j, 'finisher', now, 5, 60) });
  return undefined;
}

async function finishDisks(deps: Deps, job: Job, targets: RestoreTarget[], done: Map<string, SegmentRow>): Promise<void> {
  if (!job.itemKey) return;
  await acquireItemLock(deps, job.itemKey, job.jobId);
  await updateJob(deps, job.jobId, (j) => {
    j.phase = 'FinishDisks';
  });
  const restored = restoredOf(job);
  for (const t of targets) {
    if (restored.some((r) => r.diskKey === t.diskKey)) continue;
    await sealUpload(deps, t);
    const bytesWritten = [...Array(t.segments).keys()].reduce((n, i) => n + (done.get(segmentKey(t.diskKey, i))!.stats.bytesWritten ?? 0), 0);
    restored.push({ diskKey: t.diskKey, lun: t.lun, diskId: t.diskId, bytesWritten, dataBytes: t.dataBytes });
    await updateJob(deps, job.jobId, (j) => {
      j.result = { ...j.result, disks: restored };
    });
  }
  if (paramsOf(job, restoreParams).mode === 'replaceDisks') {
    const item = (await deps.repos.items.get(job.itemKey))?.doc;
    await replaceVmDisks(deps, await getJob(deps, job.jobId), item?.vmId ?? '', restored);
  }
  if (paramsOf(job, restoreParams).mode === 'newVm') {
    const item = await deps.repos.items.require(job.itemKey, () => itemNotFound(job.itemKey!));
    await createNewVm(deps, await getJob(deps, job.jobId), item.doc, restored);
  }
  await releaseItemLock(deps, job.itemKey, job.jobId);
  await updateJob(deps, job.jobId, (j) => {
    j.bytesDone = j.bytesTotal;
    j.segmentsDone = j.segmentsTotal;
  });
  await finishJob(deps, job.jobId, 'Completed');
}

/** The footer makes the upload a fixed VHD of the disk's size; revoking ends the upload (Azure checks the footer). */
async function sealUpload(deps: Deps, t: RestoreTarget): Promise<void> {
  const disk = await deps.compute.getDisk(t.diskId);
  if (!disk) throw new PermanentStepError('RestoredDiskMissing', `The disk '${t.name}' was being restored into was deleted.`, 'Run the restore again.');
  const uploading = (state: string | undefined): boolean => state === 'ReadyToUpload' || state === 'ActiveUpload';
  if (!uploading(disk.state)) return; // sealed by an earlier run
  try {
    if (t.guestState) await uploadGuestState(deps, t, t.guestState);
    await renewingUploadTarget(deps, t.diskId, { entra: t.entraDataAccess }).putPages(t.sizeBytes, vhdFooter(t.sizeBytes));
    await deps.compute.revokeDisk(t.diskId);
  } catch (err) {
    // A duplicate delivery of this step sealed it meanwhile (its revoke ends our grant, and a new one is refused).
    const now = await deps.compute.getDisk(t.diskId).catch(() => undefined);
    if (now && !uploading(now.state)) return;
    throw err;
  }
}

/**
 * The disks not sealed yet are useless half-written: deleted (which revokes their SAS). Sealed ones stay. A
 * replace stopped midway is rolled back first: the VM goes back on its original disks.
 */
export async function deleteUnfinished(deps: Deps, job: Job): Promise<void> {
  if (paramsOf(job, restoreParams).mode === 'newVm') return deleteNewVm(deps, job);
  if (replaceOf(job)?.inFlight && job.itemKey) {
    const item = (await deps.repos.items.get(job.itemKey))?.doc;
    if (item) await rollBackReplace(deps, job.jobId, item.vmId, 'the job ended before the replace did');
  }
  const sealed = new Set(restoredOf(job).map((r) => r.diskKey));
  for (const t of targetsOf(job) ?? []) if (!sealed.has(t.diskKey)) await deps.compute.deleteDisk(t.diskId);
}

async function cancelRestore(deps: Deps, job: Job): Promise<void> {
  await deleteUnfinished(deps, job);
  if (job.itemKey) await releaseItemLock(deps, job.itemKey, job.jobId);
  await finishJob(deps, job.jobId, 'Cancelled');
}
