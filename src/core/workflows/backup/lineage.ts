import type { ProtectedDisk } from '../../domain/model';
import type { SnapshotInfo, VmDisk } from '../../ports/compute';
import type { Deps } from '../../jobs/deps';

const TIB4 = 4 * 1024 ** 4;

export interface CopyDecision {
  full: boolean;
  /** Why a disk that had backups before is copied whole this time. */
  fullReason?: string;
  baseSnapshotId?: string;
}

/**
 * A disk's lineage is the instance behind the name, not the ARM id: "The Get Page Range Diff API can only be called
 * on incremental snapshots with the same family id" (DiskRP snapshot.json incrementalSnapshotFamilyId), and a disk
 * deleted and created again under the same name is a new instance with a new uniqueId, which its snapshots carry
 * as creationData.sourceUniqueId (disks-incremental-snapshots.md filters a disk's snapshots by SourceUniqueId).
 * Either differing between the diff base and the new snapshot means no diff is possible; absent, nothing is known.
 */
export function sameLineage(base: SnapshotInfo, shot: SnapshotInfo): boolean {
  if (base.familyId && shot.familyId) return base.familyId.toLowerCase() === shot.familyId.toLowerCase();
  if (base.sourceUniqueId && shot.sourceUniqueId) return base.sourceUniqueId.toLowerCase() === shot.sourceUniqueId.toLowerCase();
  return true;
}

/** Diff against the previous snapshot, or copy the disk whole, and why. */
export async function decideCopy(deps: Deps, known: ProtectedDisk | undefined, disk: VmDisk, shot: SnapshotInfo): Promise<CopyDecision> {
  const sameDisk = known?.diskId.toLowerCase() === disk.diskId.toLowerCase();
  const base = sameDisk && known?.baseSnapshotId ? await deps.compute.getSnapshot(known.baseSnapshotId) : undefined;
  const recreated = !!base && !sameLineage(base, shot);
  // Azure computes no diff across a resize over the 4 TiB line; a changed disk behind the LUN has no lineage.
  const crosses4T = base ? base.sizeBytes <= TIB4 !== disk.sizeBytes <= TIB4 : false;
  // The previous point's manifest says which cells hold data in the shards; without it, copy everything.
  const manifestOk = !!known?.lastManifest && !!(await deps.store.getObject(known.lastManifest));
  const full = !base || recreated || crosses4T || !manifestOk;
  const fullReason = !known?.lastManifest
    ? undefined
    : !sameDisk
      ? 'a different disk is attached at this LUN since the last backup'
      : !base
        ? 'its previous snapshot no longer exists'
        : recreated
          ? 'the disk was deleted and created again under the same name since the last backup, so its snapshots are a new incremental family that Azure cannot diff against the old one'
          : crosses4T
            ? 'it was resized across 4 TiB, where Azure computes no diff'
            : !manifestOk
              ? "the previous recovery point's manifest is missing from the backup storage"
              : undefined;
  return { full, fullReason, baseSnapshotId: full ? undefined : base!.id };
}
