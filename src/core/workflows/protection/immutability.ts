import type { ImmutabilityMode } from '../../config';
import type { RecoveryPoint } from '../../domain/model';
import type { Deps } from '../../jobs/deps';
import { manifestBlobNames } from '../backup/manifest-io';
import { BlobImmutableError } from '../../ports/storage';

/**
 * Immutable recovery points. Each point's shard snapshots and manifests carry a version-level time-based
 * retention policy until the point's expiry, so nobody holding the app's identity can delete the point's data
 * early (https://learn.microsoft.com/azure/storage/blobs/immutable-version-level-worm-policies). The policy
 * goes on the blob snapshots, not on the shard blobs: Put Page on a blob version under an active policy is
 * refused (same page, "Scenarios"), and the next backup writes the shard. Threat model: docs/ARCHITECTURE.md.
 */

/** The mode for an item's new points: its policy's, or the app's setting. */
export async function immutabilityFor(deps: Deps, itemKey: string): Promise<ImmutabilityMode> {
  const item = (await deps.repos.items.get(itemKey))?.doc;
  const policy = item?.policyName ? (await deps.repos.policies.get(item.policyName))?.doc : undefined;
  return policy?.immutability ?? deps.config.immutability;
}

/** RFC 1123 dates (the header's format) have whole seconds: round up, so the policy never ends before the point. */
const wholeSecondAfter = (d: Date): Date => new Date(Math.ceil(d.getTime() / 1000) * 1000);

export type ProtectOutcome = 'Set' | 'UpToDate' | 'Off' | 'KeptLocked';

/**
 * Makes the point's policy end at its expiry. Azure lets an unlocked policy move either way and a locked one
 * only later (immutable-storage-overview.md, "Locked versus unlocked policies"), so a locked point whose expiry
 * moved earlier keeps its date: retention soft-deletes it on time and purges it when the policy allows.
 * Idempotent: a rerun sets the same dates again, and an up-to-date point costs no storage call.
 */
export async function protectPoint(deps: Deps, point: RecoveryPoint, mode?: ImmutabilityMode): Promise<ProtectOutcome> {
  const m = mode ?? (await immutabilityFor(deps, point.itemKey));
  const now = deps.clock();
  if (m === 'Off' || point.state !== 'Available' || !point.expiresAt || point.expiresAt <= now) return 'Off';
  const until = wholeSecondAfter(point.expiresAt);
  const current = point.immutableUntil && point.immutableUntil > now ? point.immutableUntil : undefined;
  if (current?.getTime() === until.getTime() && point.immutabilityMode === m) return 'UpToDate';
  const locked = !!current && point.immutabilityMode === 'Locked';
  if (locked && until < current) return 'KeptLocked';
  // A locked policy never goes back to unlocked: Azure refuses it, and the point would lose its protection.
  const policy = { until, mode: locked ? ('Locked' as const) : m };
  for (const d of point.disks) {
    for (const s of d.shards) await deps.store.setImmutability(s.name, s.snapshot, policy);
    for (const name of await manifestBlobNames(deps, d.manifest)) await deps.store.setImmutability(name, undefined, policy);
    if (d.guestState) await deps.store.setImmutability(d.guestState.blob, undefined, policy);
  }
  await deps.repos.points.update(point.itemKey, point.pointId, (x) => {
    x.immutableUntil = policy.until;
    x.immutabilityMode = policy.mode;
  });
  return 'Set';
}

/**
 * A point that cannot be protected now (a container without version-level immutability support, a throttled
 * call) must neither fail its backup nor stop retention: it is logged, and the next retention run tries again.
 */
export async function protectOrWarn(deps: Deps, point: RecoveryPoint, mode?: ImmutabilityMode): Promise<ProtectOutcome | 'Failed'> {
  try {
    return await protectPoint(deps, point, mode);
  } catch (err) {
    deps.log.warn('could not set the immutability policy of a recovery point; the next retention run tries again', {
      itemKey: point.itemKey,
      pointId: point.pointId,
      code: 'ImmutabilityNotSet',
      error: String((err as Error)?.message ?? err),
    });
    return 'Failed';
  }
}

/** Whether a soft-deleted point's blobs may be purged now; a protected one waits for a later retention run. */
export function purgeAllowed(point: RecoveryPoint, now: Date): boolean {
  return !point.immutableUntil || point.immutableUntil <= now;
}

export const isImmutable = (err: unknown): boolean => err instanceof BlobImmutableError;
