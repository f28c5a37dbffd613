import { ConflictError } from '../../errors';
import type { ProtectedItem, RecoveryPoint } from '../../domain/model';
import type { Deps } from '../../jobs/deps';
import { getPoint } from '../restore/restore';
import { TAGS, tagValue } from '../../store/layout';
import { DAY_MS } from '../../domain/time';
import { DEFAULT_INSTANT_RESTORE_DAYS } from '../../domain/policy';
import { manifestBlobNames } from '../backup/manifest-io';
import { immutabilityFor, isImmutable, protectOrWarn, purgeAllowed } from './immutability';

export interface RetentionResult {
  softDeleted: number;
  purged: number;
  sourceSnapshotsDeleted: number;
  /** Items whose retention failed this run; logged, and retried by the next run. */
  failedItems: number;
  /** Points whose immutability policy was set or moved to their expiry (new, or their expiry changed). */
  immutabilitySet: number;
  /** Soft-deleted points left for a later run because an immutability policy still protects them. */
  purgeDeferred: number;
}

/**
 * Expired points go to soft delete (restorable again by undelete), soft-deleted points are purged after the
 * soft-delete window, and source snapshots are pruned to the policy's instant-restore days. The newest point
 * of an item and every current diff base are never touched: the next backup stands on them.
 */
export async function retentionRun(deps: Deps, now = deps.clock()): Promise<RetentionResult> {
  const result: RetentionResult = { softDeleted: 0, purged: 0, sourceSnapshotsDeleted: 0, failedItems: 0, immutabilitySet: 0, purgeDeferred: 0 };
  const items = await deps.repos.items.all();
  const policies = new Map((await deps.repos.policies.all()).map((p) => [p.name, p]));
  for (const item of items) {
    // One item's failure (a snapshot that will not delete, a throttled list) must not keep every other item's
    // points and snapshots beyond their retention; the next run tries this one again.
    try {
      await retainItem(deps, item, policies.get(item.policyName ?? '')?.instantRestoreDays, now, result);
    } catch (err) {
      result.failedItems++;
      deps.log.error('retention failed for an item; the run goes on with the next one', { itemKey: item.itemKey, code: 'RetentionItemFailed', error: String((err as Error)?.message ?? err) });
    }
  }
  return result;
}

async function retainItem(deps: Deps, item: ProtectedItem, instantRestoreDays: number | undefined, now: Date, result: RetentionResult): Promise<void> {
  const points = await deps.repos.points.all(item.itemKey); // newest first
  const newest = points.find((p) => p.state === 'Available');
  const mode = await immutabilityFor(deps, item.itemKey);
  for (const p of points) {
    if (p.state === 'Available' && p !== newest && p.expiresAt && p.expiresAt <= now) {
      await softDelete(deps, p, now);
      result.softDeleted++;
    } else if (p.state === 'Available') {
      // Points made before immutability was on, or whose expiry a policy change moved, or whose backup stopped
      // between recording the point and protecting it.
      if ((await protectOrWarn(deps, p, mode)) === 'Set') result.immutabilitySet++;
    } else if (p.state === 'SoftDeleted' && p.deletedAt && p.deletedAt.getTime() + deps.config.softDeleteDays * DAY_MS <= now.getTime()) {
      if (item.disks.some((d) => d.lastManifest && p.disks.some((x) => x.manifest === d.lastManifest))) continue;
      if (await purge(deps, p, now)) result.purged++;
      else result.purgeDeferred++;
    }
  }
  const keepDays = instantRestoreDays || DEFAULT_INSTANT_RESTORE_DAYS;
  // Resource ids are case-insensitive, and Compute returns the resource group in its own casing (often upper
  // case, "by design": Azure/azure-rest-api-specs#8068), so the stored base id and the listed one may differ.
  const bases = new Set(item.disks.flatMap((d) => (d.baseSnapshotId ? [d.baseSnapshotId.toLowerCase()] : [])));
  result.sourceSnapshotsDeleted += await pruneSourceSnapshots(deps, item.itemKey, item.subscriptionId, item.resourceGroup, bases, now.getTime() - keepDays * DAY_MS);
}

async function softDelete(deps: Deps, p: RecoveryPoint, now: Date): Promise<void> {
  await deps.repos.points.update(p.itemKey, p.pointId, (x) => {
    if (x.state !== 'Available') return false;
    x.state = 'SoftDeleted';
    x.deletedAt = now;
  });
}

/**
 * Deletes a soft-deleted point's blobs and row, or leaves it whole for a later run while an immutability
 * policy protects it (one the app set, or one set outside the app): a refused delete is the protection
 * working, not a failure of the run.
 */
async function purge(deps: Deps, p: RecoveryPoint, now: Date): Promise<boolean> {
  if (!purgeAllowed(p, now)) return false;
  try {
    for (const d of p.disks) {
      for (const s of d.shards) await deps.store.deleteShardSnapshot(s.name, s.snapshot);
      // The parts first, the header last: a purge cut short leaves a header whose parts a rerun still finds.
      for (const name of await manifestBlobNames(deps, d.manifest)) await deps.store.deleteObject(name);
      if (d.guestState) await deps.store.deleteObject(d.guestState.blob);
    }
  } catch (err) {
    if (!isImmutable(err)) throw err;
    deps.log.info('recovery point kept: an immutability policy still protects it', { itemKey: p.itemKey, pointId: p.pointId, code: 'PurgeDeferredImmutable' });
    return false;
  }
  await deps.repos.points.delete(p);
  return true;
}

async function pruneSourceSnapshots(deps: Deps, itemKey: string, sub: string, rg: string, bases: Set<string>, olderThan: number): Promise<number> {
  let deleted = 0;
  for await (const s of deps.compute.listSnapshots(sub, rg)) {
    if (s.tags[TAGS.item] !== tagValue(itemKey) || bases.has(s.id.toLowerCase())) continue;
    const jobId = s.tags[TAGS.job];
    const job = jobId ? (await deps.repos.jobs.get(jobId))?.doc : undefined;
    // Snapshots of finished jobs age out; those of dead jobs (failed, cancelled, gone) are orphans.
    const orphan = !job || job.status === 'Failed' || job.status === 'Cancelled';
    const old = s.createdAt ? Date.parse(s.createdAt) < olderThan : false;
    if (orphan || old) {
      // A snapshot with an active SAS may refuse or stall its delete (Azure/azure-cli#6927; a failed job may
      // have left one): end the access first, as EndGetAccess is documented to be needed before removal.
      await deps.compute.revokeSnapshot(s.id);
      await deps.compute.deleteSnapshot(s.id);
      deleted++;
    }
  }
  return deleted;
}

export async function undeletePoint(deps: Deps, itemKey: string, pointId: string): Promise<RecoveryPoint> {
  const p = await getPoint(deps, itemKey, pointId);
  if (p.state !== 'SoftDeleted') throw new ConflictError('RecoveryPointNotDeleted', `Recovery point '${pointId}' is not deleted.`, 'Nothing to undelete.');
  const updated = await deps.repos.points.update(itemKey, pointId, (x) => {
    x.state = 'Available';
    x.deletedAt = undefined;
    // Give it back a day before the next retention run could expire it again.
    if (x.expiresAt && x.expiresAt <= deps.clock()) x.expiresAt = new Date(deps.clock().getTime() + DAY_MS);
  });
  // The item has data again: "stopped, data deleted" would now be false. Azure's undelete brings a soft-deleted
  // item back to protection stopped with its data retained (Undo-AzRecoveryServicesBackupItemDeletion,
  // https://learn.microsoft.com/powershell/module/az.recoveryservices/undo-azrecoveryservicesbackupitemdeletion).
  await deps.repos.items.update(itemKey, (i) => {
    if (i.state !== 'ProtectionStoppedDataDeleted') return false;
    i.state = 'ProtectionStopped';
  });
  return updated!;
}

export async function deletePoint(deps: Deps, itemKey: string, pointId: string): Promise<RecoveryPoint> {
  await getPoint(deps, itemKey, pointId);
  const updated = await deps.repos.points.update(itemKey, pointId, (x) => {
    if (x.state === 'SoftDeleted') return false;
    x.state = 'SoftDeleted';
    x.deletedAt = deps.clock();
  });
  return updated!;
}
