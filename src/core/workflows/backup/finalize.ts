import { snapshotsOf } from './grants';
import type { BackupDiskPlan, Job, ProtectedDisk, RecoveryPoint, RecoveryPointDisk } from '../../domain/model';
import { shardLayout } from '../../engine/shards';
import { EntityExistsError } from '../../ports/tables';
import type { Deps } from '../../jobs/deps';
import { finishJob, getJob, isTerminal, updateJob } from '../../jobs/jobs';
import { releaseItemLock } from '../../jobs/lock';
import type { FinalizeMessage } from './plan';
import { expiryForNewPoint } from './expiry';
import { withRestoreProfiles } from '../restore/profile';
import { withGuestStates } from './guest-state';
import { protectOrWarn } from '../protection/immutability';
import { jobWorkPrefix, manifestBlob, segmentKey, shardBlobName } from '../../store/layout';
import type { SegmentRow } from '../../store/records';
import { QUEUES } from '../../config';
import { dropUnfinishedManifest, writeManifestHeader } from './manifest-io';
import type { CopyMessage } from './plan';

/**
 * Step 3 of a backup: when every segment is done, write each disk's manifest, snapshot its shards (the blob
 * snapshots are the recovery point), record the point, move the diff base forward and release the item.
 * Each sub-step records what it did on the job row first, so a rerun skips it.
 */
export async function finalizeStep(deps: Deps, msg: FinalizeMessage): Promise<void> {
  const job = await getJob(deps, msg.jobId);
  if (isTerminal(job) || !job.plan || !job.itemKey) return;
  if (job.cancelRequested) return cancelBackup(deps, job);
  const rows = await deps.repos.segments.all(job.jobId);
  const done = new Map(rows.filter((r) => r.state === 'Done').map((r) => [r.segmentKey, r]));
  if (done.size < job.segmentsTotal) return; // another segment will send finalize when it is the last
  if (await completeOldSegments(deps, job, [...done.values()])) return;

  await updateJob(deps, job.jobId, (j) => {
    j.phase = 'Finalize';
  });
  const pointId = job.jobId;
  const disks: RecoveryPointDisk[] = [];
  for (const d of job.plan) {
    disks.push(
      await finalizeDisk(
        deps,
        job,
        d,
        pointId,
        [...Array(d.segments).keys()].map((n) => done.get(segmentKey(d.diskKey, n))!),
      ),
    );
  }
  const createdAt = job.startedAt ?? job.createdAt;
  const point: RecoveryPoint = {
    itemKey: job.itemKey,
    pointId,
    createdAt,
    consistency: job.consistency ?? 'CrashConsistent',
    disksConsistentSet: job.disksConsistentSet,
    disks: await withGuestStates(deps, job, await withRestoreProfiles(deps, job, disks)),
    expiresAt: await expiryForNewPoint(deps, job, createdAt),
    state: 'Available',
    jobId: job.jobId,
  };
  await recordPoint(deps, point);
  await moveDiffBase(deps, job, pointId, createdAt);
  await revokeAll(deps, job);
  await deps.store.deletePrefix(jobWorkPrefix(job.jobId));
  await updateJob(deps, job.jobId, (j) => {
    j.result = { ...j.result, recoveryPointId: pointId };
  });
  await releaseItemLock(deps, job.itemKey, job.jobId);
  await finishJob(deps, job.jobId, 'Completed');
}

/** Inserts the point (a rerun finds it there) and protects it before the job completes. */
async function recordPoint(deps: Deps, point: RecoveryPoint): Promise<void> {
  try {
    await deps.repos.points.insert(point);
  } catch (err) {
    if (!(err instanceof EntityExistsError)) throw err;
  }
  // Protected before the job completes; a crash in between is covered by the next retention run.
  await protectOrWarn(deps, (await deps.repos.points.get(point.itemKey, point.pointId))?.doc ?? point);
}

/** The item's disks move on to this point: its snapshots are the next diff base, its manifests the next previous. */
async function moveDiffBase(deps: Deps, job: Job, pointId: string, createdAt: Date): Promise<void> {
  await deps.repos.items.update(job.itemKey!, (item) => {
    const byKey = new Map(item.disks.map((x) => [x.diskKey, x]));
    item.disks = job.plan!.map(
      (p): ProtectedDisk => ({
        ...byKey.get(p.diskKey),
        diskKey: p.diskKey,
        diskId: p.diskId,
        name: p.name,
        lun: p.lun,
        sizeBytes: p.sizeBytes,
        baseSnapshotId: p.snapshotId,
        baseSizeBytes: p.sizeBytes,
        lastManifest: manifestBlob(job.itemKey!, pointId, p.diskKey),
        shardSize: p.shardSize,
      }),
    );
    item.lastBackupAt = createdAt;
    item.lastRecoveryPointId = pointId;
    if (item.state === 'ProtectionPending') item.state = 'Protected';
  });
}

async function finalizeDisk(deps: Deps, job: Job, d: BackupDiskPlan, pointId: string, rows: SegmentRow[]): Promise<RecoveryPointDisk> {
  const itemKey = job.itemKey!;
  const { name, digest } = await writeManifestHeader(
    deps,
    itemKey,
    pointId,
    d,
    rows.map((r) => r.part!),
  );
  const stats = rows.map((r) => r.stats);
  let shardSnapshots = d.shardSnapshots;
  if (!shardSnapshots) {
    const taken: string[] = [];
    for (const s of shardLayout(d.sizeBytes, d.shardSize)) taken.push(await deps.store.snapshotShard(shardBlobName(itemKey, d.diskKey, s.index)));
    shardSnapshots = taken;
    let recorded: string[] | undefined;
    await updateJob(deps, job.jobId, (j) => {
      const p = j.plan!.find((x) => x.diskKey === d.diskKey)!;
      if (p.shardSnapshots) {
        recorded = p.shardSnapshots;
        return false;
      }
      p.shardSnapshots = taken;
      p.manifest = name;
    });
    if (recorded) shardSnapshots = recorded;
  }
  const sum = (k: string): number => stats.reduce((n, s) => n + (s[k] ?? 0), 0);
  return {
    diskKey: d.diskKey,
    name: d.name,
    lun: d.lun,
    sizeBytes: d.sizeBytes,
    shardSize: d.shardSize,
    shards: shardSnapshots.map((snapshot, i) => ({ name: shardBlobName(itemKey, d.diskKey, i), snapshot })),
    manifest: name,
    digest,
    changedBytes: sum('changedBytes'),
    bytesUploaded: sum('bytesUploaded'),
    sourceSnapshotId: d.snapshotId,
  };
}

/**
 * Segments a version before manifest format 2 finished have no part yet: each goes back to its copy step, which
 * resumes at its end from its checkpoint and writes the part. True when finalize has to wait for them.
 */
async function completeOldSegments(deps: Deps, job: Job, done: SegmentRow[]): Promise<boolean> {
  const old = done.filter((r) => !r.part);
  for (const r of old) {
    const [diskKey, n] = r.segmentKey.split('~');
    await deps.queues.queue(QUEUES.copy).send({ jobId: job.jobId, diskKey: diskKey!, segment: Number(n) } satisfies CopyMessage);
  }
  return old.length > 0;
}

async function revokeAll(deps: Deps, job: Job): Promise<void> {
  await Promise.all(snapshotsOf(job).map((id) => deps.compute.revokeSnapshot(id)));
}

/** A cancelled backup leaves no trace: SAS revoked, its source snapshots deleted, the item free. */
export async function cancelBackup(deps: Deps, job: Job): Promise<void> {
  await revokeAll(deps, job);
  for (const d of job.plan ?? []) await deps.compute.deleteSnapshot(d.snapshotId);
  await deps.store.deletePrefix(jobWorkPrefix(job.jobId));
  await dropUnfinishedManifest(deps, job);
  if (job.itemKey) await releaseItemLock(deps, job.itemKey, job.jobId);
  await finishJob(deps, job.jobId, 'Cancelled');
}
