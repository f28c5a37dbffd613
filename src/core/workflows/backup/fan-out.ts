import type { BackupDiskPlan, ProtectedDisk, ProtectedItem } from '../../domain/model';
import type { Deps } from '../../jobs/deps';
import { roundRobin } from '../../engine/shards';

/**
 * A disk keeps the shard size of its first backup: its shards and the snapshots of every point are cut that way,
 * so a later change of VMBACKUP_SHARD_SIZE_MIB applies to disks protected after it. Disks recorded before the
 * size was kept on the item read it from their last point.
 */
export async function shardSizeFor(deps: Deps, item: ProtectedItem, known: ProtectedDisk | undefined): Promise<number> {
  if (known?.shardSize) return known.shardSize;
  if (known?.lastManifest && item.lastRecoveryPointId) {
    const point = (await deps.repos.points.get(item.itemKey, item.lastRecoveryPointId))?.doc;
    const d = point?.disks.find((x) => x.manifest === known.lastManifest);
    if (d) return d.shardSize;
  }
  return deps.config.copy.shardSize;
}

/**
 * The order copy messages go out: round robin over every disk's shards, so the first messages the queue hands
 * out touch different page blobs instead of queueing the first dozen segments of a big first backup on shard 0.
 */
export function fanOutOrder(plan: readonly BackupDiskPlan[], defaultSegmentSize: number): { diskKey: string; segment: number }[] {
  const all = plan.flatMap((d) => Array.from({ length: d.segments }, (_, n) => ({ d, n })));
  return roundRobin(all, ({ d, n }) => `${d.diskKey}/${Math.floor((n * (d.segmentSize ?? defaultSegmentSize)) / d.shardSize)}`).map(({ d, n }) => ({ diskKey: d.diskKey, segment: n }));
}
