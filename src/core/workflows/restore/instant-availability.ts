import type { ProtectedItem, RecoveryPoint } from '../../domain/model';
import { DEFAULT_INSTANT_RESTORE_DAYS } from '../../domain/policy';
import { DAY_MS } from '../../domain/time';
import type { SnapshotInfo } from '../../ports/compute';
import type { Deps } from '../../jobs/deps';

/**
 * Whether a point can be restored from its source snapshots (Azure Backup's instant restore tier: the backup's
 * snapshots "retained locally" for the policy's instant-restore days, restored "using the same restore flow";
 * https://learn.microsoft.com/azure/backup/backup-instant-restore-capability), and until when.
 */
export interface InstantAvailability {
  available: boolean;
  /**
   * When retention deletes the snapshots: their creation plus the policy's instant-restore days (retention.ts).
   * Absent when that time has passed but they are still kept as the next backup's diff base: they then go at the
   * first retention run after the next backup.
   */
  until?: Date;
  /** Why the point cannot be restored instantly (or why it still can past its window). */
  reason?: string;
}

export type SnapshotLookup = (snapshotId: string) => Promise<SnapshotInfo | undefined>;

/** The item's policy's instant-restore days, as retention applies them. */
export async function instantRestoreDays(deps: Deps, item: ProtectedItem): Promise<number> {
  const policy = item.policyName ? (await deps.repos.policies.get(item.policyName))?.doc : undefined;
  return policy?.instantRestoreDays || DEFAULT_INSTANT_RESTORE_DAYS;
}

/**
 * A point restores instantly when it is Available and every disk's source snapshot still exists in the region
 * the disks are restored to (a Copy reads its source in the target's region only; another region needs
 * CopyStart, which is a copy of the data, so the vault is as good).
 */
export async function instantAvailability(point: RecoveryPoint, days: number, lookup: SnapshotLookup, now: Date, location?: string): Promise<InstantAvailability> {
  if (point.state !== 'Available') return { available: false, reason: `The recovery point is ${point.state}.` };
  let created = Infinity;
  for (const d of point.disks) {
    const s = d.sourceSnapshotId ? await lookup(d.sourceSnapshotId) : undefined;
    if (!s) return { available: false, reason: `The source snapshot of disk '${d.name}' no longer exists (snapshots are kept for the policy's ${days} instant-restore day(s)).` };
    if (location && s.location && s.location.toLowerCase() !== location.toLowerCase()) {
      return { available: false, reason: `The source snapshot of disk '${d.name}' is in region ${s.location}, not ${location}.` };
    }
    created = Math.min(created, s.createdAt ? Date.parse(s.createdAt) : point.createdAt.getTime());
  }
  if (!Number.isFinite(created)) created = point.createdAt.getTime();
  const until = new Date(created + days * DAY_MS);
  if (until > now) return { available: true, until };
  return { available: true, reason: 'The snapshots are past the instant-restore days but kept as the diff base of the next backup; the first retention run after it deletes them.' };
}

/** One lookup per snapshot id, each answered by Compute (a GET of the snapshot). */
export function snapshotGetter(deps: Deps): SnapshotLookup {
  return (id) => deps.compute.getSnapshot(id);
}

/** The item's snapshots listed once (one paged list of its resource group), for a page of points. */
export async function listedSnapshots(deps: Deps, item: ProtectedItem): Promise<SnapshotLookup> {
  const byId = new Map<string, SnapshotInfo>();
  for await (const s of deps.compute.listSnapshots(item.subscriptionId, item.resourceGroup)) byId.set(s.id.toLowerCase(), s);
  return async (id) => byId.get(id.toLowerCase());
}
