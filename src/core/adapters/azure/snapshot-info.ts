import type { Snapshot } from '@azure/arm-compute';
import { PermanentStepError, TransientError } from '../../errors';
import type { SnapshotInfo } from '../../ports/compute';

const GIB = 1024 ** 3;

/** A snapshot's ARM GET (DiskRP 2025-01-02 snapshot.json) as the port sees it, readiness and lineage included. */
export function snapshotInfoOf(s: Snapshot): SnapshotInfo & { tags: Record<string, string> } {
  const cd = s.creationData;
  return {
    id: s.id!,
    name: s.name!,
    sourceDiskId: cd?.sourceResourceId ?? '',
    sizeBytes: s.diskSizeBytes ?? (s.diskSizeGB ?? 0) * GIB,
    incremental: !!s.incremental,
    createdAt: s.timeCreated ? new Date(s.timeCreated).toISOString() : undefined,
    location: s.location,
    tags: s.tags ?? {},
    ...(s.completionPercent !== undefined ? { completionPercent: s.completionPercent } : {}),
    ...(s.snapshotAccessState ? { accessState: s.snapshotAccessState } : {}),
    ...(s.copyCompletionError ? { copyError: `${s.copyCompletionError.errorCode}: ${s.copyCompletionError.errorMessage}` } : {}),
    ...(cd?.logicalSectorSize ? { logicalSectorSize: cd.logicalSectorSize } : {}),
    ...(cd?.sourceUniqueId ? { sourceUniqueId: cd.sourceUniqueId } : {}),
    ...(s.incrementalSnapshotFamilyId ? { familyId: s.incrementalSnapshotFamilyId } : {}),
  };
}

/**
 * The documented limits on incremental snapshots: "Up to seven incremental snapshots per disk can be created every
 * five minutes" and "A total of 500 incremental snapshots can be created for a single disk ... at any given time"
 * (includes/virtual-machines-disks-incremental-snapshots-restrictions.md). The status, code and message Azure
 * answers for either are not documented (AZURE-FIDELITY m1, Appendix B item 3), so a refused create is not judged
 * by its words: the disk's own snapshots are counted, and the documented numbers decide.
 */
export const INCREMENTAL_SNAPSHOTS_PER_DISK = 500;
export const SNAPSHOTS_PER_WINDOW = 7;
export const SNAPSHOT_WINDOW_MS = 5 * 60_000;

/** What a refused snapshot create means, given the disk's incremental snapshots; undefined when no limit explains it. */
export function snapshotLimitError(diskId: string, mine: { createdAt?: string }[], now: number, perDisk = INCREMENTAL_SNAPSHOTS_PER_DISK): PermanentStepError | TransientError | undefined {
  const disk = diskId.split('/').pop();
  if (mine.length >= perDisk) {
    return new PermanentStepError(
      'SnapshotLimitReached',
      `Disk '${disk}' has ${mine.length} incremental snapshots, and Azure allows ${perDisk} per disk at any time, so no new backup snapshot can be taken.`,
      "Delete old snapshots of this disk that vmbackup did not create (or lower the policy's instant-restore days so fewer are kept), then run the backup again.",
    );
  }
  const times = mine.map((s) => (s.createdAt ? Date.parse(s.createdAt) : Number.NaN)).filter((t) => Number.isFinite(t));
  // Azure's clock, as far as its answers show it: never behind its newest snapshot.
  const ref = Math.max(now, ...times);
  const recent = times.filter((t) => t > ref - SNAPSHOT_WINDOW_MS).sort((a, b) => a - b);
  if (recent.length >= SNAPSHOTS_PER_WINDOW) {
    // The oldest of the window leaves it first: then one more may be taken.
    return new TransientError(
      'SnapshotRateLimited',
      `Disk '${disk}' had ${recent.length} incremental snapshots in the last 5 minutes, the most Azure allows; the backup takes its snapshot when the window allows another.`,
      Math.max(1, recent[0]! + SNAPSHOT_WINDOW_MS - ref),
    );
  }
  return undefined;
}
