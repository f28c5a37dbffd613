import { PermanentStepError } from '../../errors';
import type { Job, ProtectedDisk, RecoveryPoint, RecoveryPointDisk } from '../../domain/model';
import { encodeManifest, manifestDigest } from '../../engine/manifest';
import { COMPLETE_FILE, MANIFEST_FILE, PackageError, diskManifestOf, parsePackage, type PackageManifest } from '../../engine/package-format';
import { checkPackageFiles, importDisk, type ImportStats } from '../../engine/package-import';
import { shardLayout } from '../../engine/shards';
import { CancelledError } from '../../engine/stats';
import { EntityExistsError } from '../../ports/tables';
import type { Deps } from '../../jobs/deps';
import { startItemStep } from '../../jobs/item-step';
import { finishJob, getJob, updateJob } from '../../jobs/jobs';
import { extendItemLock, releaseItemLock } from '../../jobs/lock';
import { dropUnfinishedManifest, headerDigest, writeWholeManifest } from '../backup/manifest-io';
import { CELL } from '../../domain/ranges';
import { expiryForNewPoint } from '../backup/expiry';
import { hasPoints, hasPointsError, locationOf, openPackage, packageFailure, type SeedHooks, type SeedMessage } from './seeding';
import { itemBackupsPrefix, manifestBlob, shardBlobName } from '../../store/layout';
import { cancelPoller } from '../../jobs/cancel';
import { progressSaver } from '../../jobs/progress-saver';
import type { PackageStore } from '../../ports/packages';
import { resultOf } from '../../jobs/params';
import { importResult } from './params';

/**
 * The Import job, one message. Nothing is written before the package's manifest, completion marker and every
 * chunk file's size have checked out; then each chunk is verified (SHA-256) as it is written into the shards.
 * If any check fails, the shards written so far are removed, so a refused package leaves the item as it was.
 * Only after every disk is in do the manifest blobs, shard snapshots, recovery point and item change.
 */
export async function importStep(deps: Deps, msg: SeedMessage, hooks: SeedHooks = {}): Promise<void> {
  const started = await startItemStep(deps, msg.jobId);
  if (!started) return;
  const { job, itemKey } = started;
  const done = !!(await deps.repos.points.get(itemKey, job.jobId));
  if (!done && (await hasPoints(deps, itemKey))) {
    const e = hasPointsError(itemKey);
    throw new PermanentStepError(e.code, e.message, e.recommendedAction);
  }
  await updateJob(deps, job.jobId, (j) => {
    j.status = 'InProgress';
    j.startedAt ??= deps.clock();
    j.phase = 'Verify';
  });
  const pkg = openPackage(deps, locationOf(job));
  const m = await readPackage(pkg, itemKey);
  // The shards follow this app's shard size, not the exporter's: the next backups lay the disk out with it.
  const shardSize = deps.config.copy.shardSize;
  if (!resultOf(job, importResult).written && (await writeShards(deps, job, pkg, m, shardSize, hooks)) === 'cancelled') return;
  await commit(deps, await getJob(deps, job.jobId), { ...m, disks: m.disks.map((d) => ({ ...d, shardSize })) });
}

async function readPackage(pkg: PackageStore, itemKey: string): Promise<PackageManifest> {
  try {
    const m = parsePackage(await pkg.get(MANIFEST_FILE), await pkg.get(COMPLETE_FILE));
    if (m.itemKey !== itemKey) {
      throw new PermanentStepError('PackageForAnotherItem', `The package was exported from item '${m.itemKey}', not '${itemKey}'.`, 'Import the package into the item it was exported from.');
    }
    await checkPackageFiles(m, pkg);
    return m;
  } catch (err) {
    if (err instanceof PackageError) throw packageFailure(err);
    throw err;
  }
}

/** Every chunk verified into the shards; a refused or cancelled import removes what it wrote. */
async function writeShards(deps: Deps, job: Job, pkg: PackageStore, m: PackageManifest, shardSize: number, hooks: SeedHooks): Promise<'written' | 'cancelled'> {
  const itemKey = job.itemKey!;
  const stats: ImportStats = { chunksVerified: 0, dataBytes: 0, bytesUploaded: 0, packageBytesRead: 0 };
  const total = m.disks.reduce((n, d) => n + d.chunks.length, 0);
  await updateJob(deps, job.jobId, (j) => {
    j.phase = 'Import';
    j.bytesTotal = m.disks.reduce((n, d) => n + d.dataBytes, 0);
    j.bytesDone = 0;
  });
  const saver = progressSaver(async () => {
    await updateJob(deps, job.jobId, (j) => {
      j.phase = 'Import';
      j.bytesDone = stats.dataBytes;
    });
    await extendItemLock(deps, itemKey, job.jobId);
  }, SAVE_EVERY_MS);
  try {
    for (const [i, d] of m.disks.entries()) {
      const cells = new Map<number, Buffer>();
      await importDisk({ ...d, shardSize }, pkg, deps.store, (n) => shardBlobName(itemKey, d.diskKey, n), {
        concurrency: deps.config.copy.concurrency,
        stats,
        onCell: (index, digest) => cells.set(index, digest),
        isCancelled: cancelPoller(deps, job.jobId),
        onProgress: (s) => {
          hooks.onProgress?.({
            phase: 'Import',
            disk: d.name,
            disksDone: i,
            disksTotal: m.disks.length,
            fraction: total ? s.chunksVerified / total : 1,
            chunks: s.chunksVerified,
            dataBytes: s.dataBytes,
            packageBytes: s.packageBytesRead,
          });
          saver.poke();
        },
      });
      await writeWholeManifest(deps, manifestBlob(itemKey, job.jobId, d.diskKey), d.sizeBytes, deps.config.copy.segmentSize / CELL, cells);
    }
    await saver.flush().catch(() => undefined); // progress is advisory here; the row below is what counts
  } catch (err) {
    if (err instanceof PackageError || err instanceof CancelledError) {
      await removeImported(deps, itemKey);
      await dropUnfinishedManifest(deps, job);
    }
    if (err instanceof PackageError) throw packageFailure(err);
    if (!(err instanceof CancelledError)) throw err;
    await releaseItemLock(deps, itemKey, job.jobId);
    await finishJob(deps, job.jobId, 'Cancelled');
    return 'cancelled';
  }
  await updateJob(deps, job.jobId, (j) => {
    j.bytesTotal = stats.dataBytes;
    j.bytesDone = stats.dataBytes;
    j.result = { ...j.result, written: true, chunksVerified: stats.chunksVerified, dataBytes: stats.dataBytes, packageBytes: stats.packageBytesRead, bytesUploaded: stats.bytesUploaded };
  });
  return 'written';
}

const SAVE_EVERY_MS = 2000;

/** The shards of an item without recovery points belong to nothing else: removing them undoes an import. */
export async function removeImported(deps: Deps, itemKey: string): Promise<void> {
  if (await hasPoints(deps, itemKey)) return;
  await deps.store.deletePrefix(itemBackupsPrefix(itemKey));
}

type PackageDiskOf = PackageManifest['disks'][number];

/** One disk's manifest blob and shard snapshots (recorded on the job first, so a rerun reuses them). */
async function commitDisk(deps: Deps, job: Job, d: PackageDiskOf): Promise<{ disk: RecoveryPointDisk; base?: string }> {
  const itemKey = job.itemKey!;
  const manifest = diskManifestOf(d);
  const name = manifestBlob(itemKey, job.jobId, d.diskKey);
  // Written in format 2 with the shards; an import begun by a version before it has none yet: format 1 then.
  let digest = await headerDigest(deps, name);
  if (!digest) {
    if (!(await deps.store.getObject(name))) await deps.store.putObject(name, encodeManifest(manifest));
    digest = manifestDigest(manifest);
  }
  let snaps = resultOf(job, importResult).shardSnapshots?.[d.diskKey];
  if (!snaps) {
    const taken: string[] = [];
    for (const s of shardLayout(d.sizeBytes, d.shardSize)) taken.push(await deps.store.snapshotShard(shardBlobName(itemKey, d.diskKey, s.index)));
    await updateJob(deps, job.jobId, (j) => {
      const r = resultOf(j, importResult).shardSnapshots ?? {};
      if (r[d.diskKey]) {
        snaps = r[d.diskKey];
        return false;
      }
      j.result = { ...j.result, shardSnapshots: { ...r, [d.diskKey]: taken } };
    });
    snaps ??= taken;
  }
  const base = await deps.compute.getSnapshot(d.sourceSnapshot.id);
  const lineage = !!base && (!d.sourceDiskId || base.sourceDiskId.toLowerCase() === d.sourceDiskId.toLowerCase());
  return {
    base: lineage ? base!.id : undefined,
    disk: {
      diskKey: d.diskKey,
      name: d.name,
      lun: d.lun,
      sizeBytes: d.sizeBytes,
      shardSize: d.shardSize,
      shards: snaps.map((snapshot, i) => ({ name: shardBlobName(itemKey, d.diskKey, i), snapshot })),
      manifest: name,
      digest,
      changedBytes: d.dataBytes,
      bytesUploaded: d.dataBytes,
      sourceSnapshotId: d.sourceSnapshot.id,
    },
  };
}

async function commit(deps: Deps, job: Job, m: PackageManifest): Promise<void> {
  const itemKey = job.itemKey!;
  const pointId = job.jobId;
  await updateJob(deps, job.jobId, (j) => {
    j.phase = 'Finalize';
  });
  const disks: RecoveryPointDisk[] = [];
  const warnings: string[] = [];
  const bases = new Map<string, string | undefined>();
  for (const d of m.disks) {
    const c = await commitDisk(deps, job, d);
    disks.push(c.disk);
    bases.set(d.diskKey, c.base);
    if (!c.base) {
      warnings.push(
        `BaseSnapshotMissing: the snapshot disk '${d.name}' was exported from no longer exists, so the next backup copies this disk whole. Recommended action: none required; to avoid a long first copy, export and import again and keep the export's snapshots until the import is done.`,
      );
    }
  }
  const createdAt = new Date(m.createdAt);
  const point: RecoveryPoint = {
    itemKey,
    pointId,
    createdAt,
    consistency: m.consistency,
    disks,
    expiresAt: await expiryForNewPoint(deps, job, createdAt),
    state: 'Available',
    jobId: job.jobId,
  };
  try {
    await deps.repos.points.insert(point);
  } catch (err) {
    if (!(err instanceof EntityExistsError)) throw err;
  }
  await continueFrom(deps, itemKey, pointId, m, bases);
  await updateJob(deps, job.jobId, (j) => {
    j.result = { ...j.result, recoveryPointId: pointId, fullCopyNext: [...bases].filter(([, b]) => !b).map(([k]) => k) };
    for (const w of warnings) if (!j.warnings.includes(w)) j.warnings.push(w);
  });
  await releaseItemLock(deps, itemKey, job.jobId);
  await finishJob(deps, job.jobId, 'Completed');
}

/** The item continues from the imported point: the export's snapshots (where they still exist) are its diff bases. */
async function continueFrom(deps: Deps, itemKey: string, pointId: string, m: PackageManifest, bases: Map<string, string | undefined>): Promise<void> {
  const createdAt = new Date(m.createdAt);
  await deps.repos.items.update(itemKey, (item) => {
    const byKey = new Map(item.disks.map((x) => [x.diskKey, x]));
    item.disks = m.disks.map(
      (d): ProtectedDisk => ({
        ...byKey.get(d.diskKey),
        diskKey: d.diskKey,
        diskId: d.sourceDiskId || byKey.get(d.diskKey)?.diskId || '',
        name: d.name,
        lun: d.lun,
        sizeBytes: d.sizeBytes,
        baseSnapshotId: bases.get(d.diskKey),
        baseSizeBytes: d.sizeBytes,
        lastManifest: manifestBlob(itemKey, pointId, d.diskKey),
        shardSize: d.shardSize,
      }),
    );
    item.lastBackupAt = createdAt;
    item.lastRecoveryPointId = pointId;
    item.seed = undefined;
    if (item.state === 'ProtectionPending') item.state = 'Protected';
  });
}
