import { itemNotFound, PermanentStepError } from '../../errors';
import type { BackupDiskPlan, Job, ProtectedDisk } from '../../domain/model';
import { exportDisk, newExportStats } from '../../engine/package-export';
import { CLAIM_FILE, COMPLETE_FILE, MANIFEST_FILE, PackageError, completeMarker, encodePackageManifest, type PackageDisk, type PackageManifest } from '../../engine/package-format';
import { CancelledError } from '../../engine/stats';
import type { PackageStore } from '../../ports/packages';
import type { Deps } from '../../jobs/deps';
import { finishJob, getJob, isTerminal, updateJob } from '../../jobs/jobs';
import { acquireItemLock, extendItemLock, releaseItemLock } from '../../jobs/lock';
import { freezeAndSnapshot } from '../backup/consistency';
import { hasPoints, hasPointsError, locationOf, openPackage, packageFailure, type SeedHooks, type SeedMessage } from './seeding';
import { diskKeyFor } from '../../store/layout';
import { cancelPoller } from '../../jobs/cancel';
import { progressSaver } from '../../jobs/progress-saver';
import { paramsOf } from '../../jobs/params';
import { exportParams } from './params';
import { pointSources, renewingSnapshotReader, type ExportSource } from './export-sources';

/**
 * The Export job, one message: claims the package location, (first backup) snapshots every disk and records
 * the snapshots on the job, writes each disk's chunks, then the manifest and last the completion marker.
 * A redelivery resumes: its snapshots are on the job row and chunks already written are kept.
 */
export async function exportStep(deps: Deps, msg: SeedMessage, hooks: SeedHooks = {}): Promise<void> {
  let job = await getJob(deps, msg.jobId);
  if (isTerminal(job) || !job.itemKey) return;
  const initial = !paramsOf(job, exportParams).pointId;
  if (job.cancelRequested) return cancelExport(deps, job);
  const pkg = openPackage(deps, locationOf(job));
  try {
    await claim(pkg, job);
  } catch (err) {
    if (err instanceof PackageError) throw packageFailure(err);
    throw err;
  }
  if (await pkg.get(COMPLETE_FILE)) return finishExport(deps, job, initial);

  job = await updateJob(deps, job.jobId, (j) => {
    j.status = 'InProgress';
    j.startedAt ??= deps.clock();
    j.phase = initial ? 'Snapshot' : 'Export';
  });
  const sources = initial ? await snapshotSources(deps, job) : await pointSources(deps, job);
  // The disks' span is the planned work; the data bytes exported so far stay within it.
  job = await updateJob(deps, job.jobId, (j) => {
    j.bytesTotal = sources.reduce((n, s) => n + s.disk.sizeBytes, 0);
  });
  const run: ExportRun = { deps, job, pkg, initial, hooks, existing: await pkg.list(), stats: newExportStats(), isCancelled: cancelPoller(deps, job.jobId) };
  const disks: PackageDisk[] = [];
  for (const [i, s] of sources.entries()) {
    try {
      disks.push(await exportOne(run, s, i, sources.length));
    } catch (err) {
      if (err instanceof PackageError) throw packageFailure(err);
      if (err instanceof CancelledError) return cancelExport(deps, await getJob(deps, job.jobId));
      throw err;
    } finally {
      if (initial) await deps.compute.revokeSnapshot(s.disk.sourceSnapshot.id);
    }
  }
  await writeManifest(run, disks);
  await finishExport(deps, job, initial);
}

interface ExportRun {
  deps: Deps;
  job: Job;
  pkg: PackageStore;
  initial: boolean;
  hooks: SeedHooks;
  existing: Awaited<ReturnType<PackageStore['list']>>;
  stats: ReturnType<typeof newExportStats>;
  isCancelled: () => Promise<boolean>;
}

/** One disk's chunks, with progress on the job row (every 2 s) and to the listener (every cell). */
async function exportOne(run: ExportRun, s: ExportSource, index: number, count: number): Promise<PackageDisk> {
  const { deps, job, stats } = run;
  let planned = 0;
  const scannedBefore = stats.cellsScanned;
  const report = (): void =>
    run.hooks.onProgress?.({
      phase: 'Export',
      disk: s.disk.name,
      disksDone: index,
      disksTotal: count,
      fraction: (index + (planned ? (stats.cellsScanned - scannedBefore) / planned : 0)) / count,
      chunks: stats.chunksWritten + stats.chunksReused,
      dataBytes: stats.dataBytes,
      packageBytes: stats.packageBytes,
    });
  const saver = progressSaver(async () => {
    await updateJob(deps, job.jobId, (j) => {
      j.phase = 'Export';
      j.bytesDone = stats.dataBytes;
      j.result = { ...j.result, progress: { ...stats } };
    });
    if (run.initial) await extendItemLock(deps, job.itemKey!, job.jobId);
  }, SAVE_EVERY_MS);
  const chunks = await exportDisk(
    {
      diskKey: s.disk.diskKey,
      diskSize: s.disk.sizeBytes,
      concurrency: deps.config.copy.concurrency,
      rangeWindow: deps.config.copy.diffWindow,
      existing: run.existing,
      expected: s.expected ? await s.expected() : undefined,
    },
    await s.reader(),
    run.pkg,
    {
      stats,
      isCancelled: run.isCancelled,
      onPlanned: (n) => {
        planned = n;
      },
      onProgress: () => {
        report();
        saver.poke();
      },
    },
  );
  await saver.flush();
  report();
  await saver.saveNow();
  return { ...s.disk, chunks, dataBytes: chunks.reduce((n, c) => n + c.length, 0) };
}

/** The manifest, then the completion marker last: a package without it is never imported. */
async function writeManifest(run: ExportRun, disks: PackageDisk[]): Promise<void> {
  const { job, initial } = run;
  const manifest: PackageManifest = {
    format: 1,
    itemKey: job.itemKey!,
    jobId: job.jobId,
    createdAt: paramsOf(job, exportParams).sourceTime ?? (job.startedAt ?? job.createdAt).toISOString(),
    source: initial ? 'NewSnapshot' : 'RecoveryPoint',
    ...(initial ? {} : { pointId: paramsOf(job, exportParams).pointId }),
    consistency: job.consistency ?? 'CrashConsistent',
    disks,
  };
  const buf = encodePackageManifest(manifest);
  await run.pkg.put(MANIFEST_FILE, buf);
  await run.pkg.put(COMPLETE_FILE, completeMarker(buf));
}

const SAVE_EVERY_MS = 2000;

async function claim(pkg: PackageStore, job: Job): Promise<void> {
  await pkg.prepare();
  const cur = await pkg.get(CLAIM_FILE);
  if (cur) {
    const owner = (JSON.parse(cur.toString('utf8')) as { jobId?: string }).jobId;
    if (owner !== job.jobId) throw new PackageError('PackageLocationInUse', `The package location ${pkg.location} holds another export (job ${owner}).`);
    return;
  }
  if ((await pkg.list()).length > 0) throw new PackageError('PackageLocationInUse', `The package location ${pkg.location} is not empty.`);
  await pkg.put(CLAIM_FILE, Buffer.from(JSON.stringify({ jobId: job.jobId, itemKey: job.itemKey })));
}

/** First backup: incremental snapshots of every disk, recorded on the job before anything is read. */
async function snapshotSources(deps: Deps, job: Job): Promise<ExportSource[]> {
  const itemKey = job.itemKey!;
  await acquireItemLock(deps, itemKey, job.jobId);
  if (!job.plan) {
    if (await hasPoints(deps, itemKey)) throw new PermanentStepError(hasPointsError(itemKey).code, hasPointsError(itemKey).message, 'Export one of its recovery points instead (give its pointId).');
    const item = (await deps.repos.items.get(itemKey))?.doc;
    if (!item) throw itemNotFound(itemKey);
    const vm = await deps.compute.getVm(item.vmId);
    if (!vm) throw new PermanentStepError('VmNotFound', `The virtual machine '${item.vmName}' no longer exists.`, 'Stop protection of the item; there is nothing to export.');
    const policy = item.policyName ? (await deps.repos.policies.get(item.policyName))?.doc : undefined;
    const shot = await freezeAndSnapshot(deps, job, item, vm, policy?.consistency);
    const plan: BackupDiskPlan[] = vm.disks.map((d) => ({
      diskKey: diskKeyFor(d.lun),
      diskId: d.diskId,
      name: d.name,
      lun: d.lun,
      sizeBytes: d.sizeBytes,
      snapshotId: shot.snapshots.get(d.diskId)!.id,
      full: true,
      segments: 0,
      shardSize: deps.config.copy.shardSize,
    }));
    await updateJob(deps, job.jobId, (j) => {
      if (j.plan) return false;
      j.plan = plan;
      j.consistency = shot.consistency;
      j.warnings.push(...shot.warnings);
      j.params = { ...j.params, sourceTime: deps.clock().toISOString() };
    });
  }
  const plan = (await getJob(deps, job.jobId)).plan!;
  return plan.map((d) => ({
    disk: {
      diskKey: d.diskKey,
      name: d.name,
      lun: d.lun,
      sizeBytes: d.sizeBytes,
      shardSize: d.shardSize,
      sourceDiskId: d.diskId,
      sourceSnapshot: { id: d.snapshotId },
      dataBytes: 0,
      chunks: [],
    },
    reader: () => renewingSnapshotReader(deps, d.snapshotId, d.entraDataAccess),
  }));
}

async function finishExport(deps: Deps, job: Job, initial: boolean): Promise<void> {
  const itemKey = job.itemKey!;
  if (initial) {
    const plan = (await getJob(deps, job.jobId)).plan ?? [];
    // The export's snapshots become the diff bases: kept by retention, and what the import will continue from.
    await deps.repos.items.update(itemKey, (item) => {
      if (item.lastRecoveryPointId) return false;
      const byKey = new Map(item.disks.map((x) => [x.diskKey, x]));
      item.disks = plan.map(
        (p): ProtectedDisk => ({
          ...byKey.get(p.diskKey),
          diskKey: p.diskKey,
          diskId: p.diskId,
          name: p.name,
          lun: p.lun,
          sizeBytes: p.sizeBytes,
          baseSnapshotId: p.snapshotId,
          baseSizeBytes: p.sizeBytes,
          lastManifest: undefined,
        }),
      );
      item.seed = { exportJobId: job.jobId, exportedAt: deps.clock().toISOString() };
    });
    await releaseItemLock(deps, itemKey, job.jobId);
  }
  await finishJob(deps, job.jobId, 'Completed');
}

/** A cancelled export leaves its partial package (a new export needs an empty location) but no snapshots. */
async function cancelExport(deps: Deps, job: Job): Promise<void> {
  for (const d of job.plan ?? []) {
    await deps.compute.revokeSnapshot(d.snapshotId);
    await deps.compute.deleteSnapshot(d.snapshotId);
  }
  if (job.itemKey) await releaseItemLock(deps, job.itemKey, job.jobId);
  await finishJob(deps, job.jobId, 'Cancelled');
}
