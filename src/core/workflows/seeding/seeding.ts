import { QUEUES } from '../../config';
import { busy, ConflictError, itemNotFound, PermanentStepError, ValidationError } from '../../errors';
import type { Job } from '../../domain/model';
import type { PackageError, PackageErrorCode } from '../../engine/package-format';
import type { PackageLocation, PackageStore } from '../../ports/packages';
import type { Deps } from '../../jobs/deps';
import { createJob } from '../../jobs/jobs';
import { newParams, paramsOf } from '../../jobs/params';
import { exportParams, importParams, seedingParams } from './params';
import { isItemBusy } from '../../jobs/lock';
import { getPoint } from '../restore/restore';

export interface SeedMessage {
  jobId: string;
}

/** Progress of an export or import, on the job row and to an in-process listener (the command line). */
export interface SeedProgress {
  phase: string;
  disk: string;
  disksDone: number;
  disksTotal: number;
  /** 0..1 over the whole job. */
  fraction: number;
  chunks: number;
  dataBytes: number;
  packageBytes: number;
}

export interface SeedHooks {
  onProgress?: (p: SeedProgress) => void;
}

const ACTIONS: Record<PackageErrorCode, string> = {
  PackageIncomplete: 'Copy the whole package again (every file under disks/ plus manifest.json and complete.json), or run the export again until it completes, then retry the import.',
  PackageChecksumMismatch: 'The package is damaged: export it again (or copy it again from an intact source), then retry. Nothing was written to the item.',
  PackageInvalid: 'Use a package written by vmbackup export, unmodified, then retry.',
  PackageLocationInUse: 'Export to an empty folder or container prefix, or remove the other export there first.',
};

export function packageFailure(err: PackageError): PermanentStepError {
  return new PermanentStepError(err.code, err.message, ACTIONS[err.code]);
}

export function openPackage(deps: Deps, location: PackageLocation): PackageStore {
  if (!deps.packages) throw new PermanentStepError('PackagesUnavailable', 'This deployment has no package staging configured.', 'Run the export or import with the vmbackup command line.');
  return deps.packages.open(location);
}

export function hasPointsError(itemKey: string): ConflictError {
  return new ConflictError(
    'ItemHasRecoveryPoints',
    `Item '${itemKey}' already has recovery points, so a package cannot become its first one.`,
    'Import only into a newly protected item; to ship an existing point elsewhere, export it with its pointId.',
  );
}

async function hasPoints(deps: Deps, itemKey: string): Promise<boolean> {
  return (await deps.repos.points.list(itemKey, { top: 1 })).items.length > 0;
}

/** The backup container holds shards and manifests under fixed names: a package there could collide. */
function checkLocation(deps: Deps, l: PackageLocation): void {
  if (l.kind === 'container' && l.container === deps.config.backupContainer) {
    throw new ValidationError(
      `The package cannot be in the backup container '${l.container}'.`,
      'Use another container of the backup account, e.g. "seed-staging".',
      undefined,
      'PackageLocationInvalid',
    );
  }
}

export interface ExportRequest {
  itemKey: string;
  location: PackageLocation;
  pointId?: string;
}
export interface ImportRequest {
  itemKey: string;
  location: PackageLocation;
}

/**
 * Export: a recovery point (pointId), or, for an item without points, its first backup taken straight from
 * new incremental snapshots. `enqueue: false` leaves running the step to the caller (the command line).
 */
export async function requestExport(deps: Deps, req: ExportRequest, opts: { enqueue?: boolean } = {}): Promise<Job> {
  checkLocation(deps, req.location);
  const item = (await deps.repos.items.get(req.itemKey))?.doc;
  if (!item) throw itemNotFound(req.itemKey);
  if (req.pointId) {
    const point = await getPoint(deps, req.itemKey, req.pointId);
    if (point.state !== 'Available') throw new ConflictError('RecoveryPointNotAvailable', `Recovery point '${req.pointId}' is ${point.state}.`, 'Export an available recovery point.');
  } else {
    if (item.state === 'ProtectionStopped' || item.state === 'ProtectionStoppedDataDeleted') {
      throw new ConflictError('ProtectionStopped', `Protection of '${item.vmName}' is stopped.`, 'Protect the item again, then export its first backup.');
    }
    if (await hasPoints(deps, req.itemKey)) {
      throw new ConflictError(
        'ItemHasRecoveryPoints',
        `Item '${req.itemKey}' already has recovery points; a first-backup export is only for a newly protected item.`,
        'Export one of its recovery points instead (give its pointId).',
      );
    }
    if (await isItemBusy(deps, req.itemKey)) throw busy(req.itemKey);
  }
  const { job } = await createJob(deps, {
    type: 'Export',
    itemKey: req.itemKey,
    trigger: 'Api',
    params: newParams(exportParams, { location: req.location, ...(req.pointId ? { pointId: req.pointId } : {}) }),
  });
  if (opts.enqueue ?? true) await deps.queues.queue(QUEUES.export).send({ jobId: job.jobId } satisfies SeedMessage);
  return job;
}

/** Import (seed): a package becomes the item's first recovery point. */
export async function requestImport(deps: Deps, req: ImportRequest, opts: { enqueue?: boolean } = {}): Promise<Job> {
  checkLocation(deps, req.location);
  const item = (await deps.repos.items.get(req.itemKey))?.doc;
  if (!item) throw itemNotFound(req.itemKey);
  if (item.state === 'ProtectionStoppedDataDeleted') {
    throw new ConflictError('ProtectionStopped', `Protection of '${item.vmName}' was stopped and its data deleted.`, 'Register and protect the VM again, then import.');
  }
  if (await hasPoints(deps, req.itemKey)) throw hasPointsError(req.itemKey);
  if (await isItemBusy(deps, req.itemKey)) throw busy(req.itemKey);
  const { job } = await createJob(deps, { type: 'Import', itemKey: req.itemKey, trigger: 'Api', params: newParams(importParams, { location: req.location }) });
  if (opts.enqueue ?? true) await deps.queues.queue(QUEUES.import).send({ jobId: job.jobId } satisfies SeedMessage);
  return job;
}

/** Polls the job row at most once a second for a cancel request. */
export function locationOf(job: Job): PackageLocation {
  return paramsOf(job, seedingParams).location;
}

export { hasPoints };
