import { snapshotsOf } from './grants';
import type { BackupDiskPlan, Job, ProtectedDisk, RecoveryPoint, RecoveryPointDisk } from '../../domain/model';
import { applyDeltas, decodeDelta, decodeManifest, encodeManifest, manifestDigest, type CellDelta } from '../../engine/manifest';
import { shardLayout } from '../../engine/shards';
import { EntityExistsError } from '../../ports/tables';
import type { Deps } from '../../jobs/deps';
import { finishJob, getJob, isTerminal, updateJob } from '../../jobs/jobs';
import { releaseItemLock } from '../../jobs/lock';
import type { FinalizeMessage } from './plan';
import { expiryForNewPoint } from './expiry';
import { withRestoreProfiles } from '../restore/profile';
import { protectOrWarn } from '../protection/immutability';
import { checkpointBlob, jobWorkPrefix, manifestBlob, segmentKey, shardBlobName } from '../../store/layout';


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

  await updateJob(deps, job.jobId, (j) => { j.phase = 'Finalize'; });
  const pointId = job.jobId;
  const disks: RecoveryPointDisk[] = [];
  for (const d of job.plan) {
    const stats = [...Array(d.segments).keys()].map((n) => done.get(segmentKey(d.diskKey, n))!.stats);
    disks.push(await finalizeDisk(deps, job, d, pointId, stats));
  }
  const createdAt = job.startedAt ?? job.createdAt;
  const point: RecoveryPoint = {
    itemKey: job.itemKey,
    pointId,
    createdAt,
    consistency: job.consistency ?? 'CrashConsistent',
    disksConsistentSet: job.disksConsistentSet,
    disks: await withRestoreProfiles(deps, job, disks),
    expiresAt: await expiryForNewPoint(deps, job, createdAt),
    state: 'Available',
    jobId: job.jobId,
  };
  try {
    await deps.repos.points.insert(point);
  } catch (err) {
    if (!(err instanceof EntityExistsError)) throw err;
  }
  // Protected before the job completes; a crash in between is covered by the next retention run.
  await protectOrWarn(deps, (await deps.repos.points.get(point.itemKey, pointId))?.doc ?? point);
  await deps.repos.items.update(job.itemKey, (item) => {
    const byKey = new Map(item.disks.map((x) => [x.diskKey, x]));
    item.disks = job.plan!.map((p): ProtectedDisk => ({
      ...byKey.get(p.diskKey),
      diskKey: p.diskKey,
      diskId: p.diskId,
      name: p.name,
      lun: p.lun,
      sizeBytes: p.sizeBytes,
      baseSnapshotId: p.snapshotId,
      baseSizeBytes: p.sizeBytes,
      lastManifest: manifestBlob(job.itemKey!, pointId, p.diskKey),
    }));
    item.lastBackupAt = createdAt;
    item.lastRecoveryPointId = pointId;
    if (item.state === 'ProtectionPending') item.state = 'Protected';
  });
  await revokeAll(deps, job);
  await deps.store.deletePrefix(jobWorkPrefix(job.jobId));
  await updateJob(deps, job.jobId, (j) => { j.result = { ...j.result, recoveryPointId: pointId }; });
  await releaseItemLock(deps, job.itemKey, job.jobId);
  await finishJob(deps, job.jobId, 'Completed');
}

async function finalizeDisk(deps: Deps, job: Job, d: BackupDiskPlan, pointId: string, stats: Record<string, number>[]): Promise<RecoveryPointDisk> {
  const itemKey = job.itemKey!;
  const name = manifestBlob(itemKey, pointId, d.diskKey);
  let manifestBuf = await deps.store.getObject(name);
  if (!manifestBuf) {
    const item = (await deps.repos.items.get(itemKey))?.doc;
    const prevName = d.full ? undefined : item?.disks.find((x) => x.diskKey === d.diskKey)?.lastManifest;
    const prevBuf = prevName ? await deps.store.getObject(prevName) : undefined;
    const deltas: CellDelta[] = [];
    for (let n = 0; n < d.segments; n++) {
      const buf = await deps.store.getObject(checkpointBlob(job.jobId, d.diskKey, n));
      if (!buf) throw new Error(`checkpoint of segment ${n} of disk ${d.diskKey} is missing`);
      deltas.push(decodeDelta(buf));
    }
    manifestBuf = encodeManifest(applyDeltas(prevBuf ? decodeManifest(prevBuf) : undefined, d.sizeBytes, deltas));
    await deps.store.putObject(name, manifestBuf);
  }
  let shardSnapshots = d.shardSnapshots;
  if (!shardSnapshots) {
    const taken: string[] = [];
    for (const s of shardLayout(d.sizeBytes, d.shardSize)) taken.push(await deps.store.snapshotShard(shardBlobName(itemKey, d.diskKey, s.index)));
    shardSnapshots = taken;
    let recorded: string[] | undefined;
    await updateJob(deps, job.jobId, (j) => {
      const p = j.plan!.find((x) => x.diskKey === d.diskKey)!;
      if (p.shardSnapshots) { recorded = p.shardSnapshots; return false; }
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
    digest: manifestDigest(decodeManifest(manifestBuf)),
    changedBytes: sum('changedBytes'),
    bytesUploaded: sum('bytesUploaded'),
    sourceSnapshotId: d.snapshotId,
  };
}

async function revokeAll(deps: Deps, job: Job): Promise<void> {
  await Promise.all(snapshotsOf(job).map((id) => deps.compute.revokeSnapshot(id)));
}

/** A cancelled backup leaves no trace: SAS revoked, its source snapshots deleted, the item free. */
export async function cancelBackup(deps: Deps, job: Job): Promise<void> {
  await revokeAll(deps, job);
  for (const d of job.plan ?? []) await deps.compute.deleteSnapshot(d.snapshotId);
  await deps.store.deletePrefix(jobWorkPrefix(job.jobId));
  if (job.itemKey) await releaseItemLock(deps, job.itemKey, job.jobId);
  await finishJob(deps, job.jobId, 'Cancelled');
}
