import { ArmError, invalid, notAllowed } from './errors';
import type { DiskRecord, EmulatorState, SnapshotRecord } from './state';

/**
 * The background copy of Premium SSD v2 and Ultra incremental snapshots (azure-compute-docs
 * articles/virtual-machines/disks-incremental-snapshots.md): `completionPercent` rises to 100 over the copy time;
 * "Snapshots of other disk types always report 100%". The access state follows DiskRP 2025-01-02
 * diskRPCommon.json SnapshotAccessState: `Pending` (no restore, copy or download) until the copy completes, then
 * `Available`. With `creationData.instantAccessDurationMinutes` the snapshot is `InstantAccess` (restore yes,
 * download no) while copying, `AvailableWithInstantAccess` after the copy until the instant window ends, then
 * `Available`.
 */
export function completionPercent(s: SnapshotRecord, now: number): number {
  if (s.copyDoneAtMs <= s.createdAtMs || now >= s.copyDoneAtMs) return 100;
  return Math.min(99, Math.max(0, Math.floor(((now - s.createdAtMs) / (s.copyDoneAtMs - s.createdAtMs)) * 100)));
}

export type AccessState = 'Pending' | 'InstantAccess' | 'AvailableWithInstantAccess' | 'Available';

export function accessState(s: SnapshotRecord, now: number): AccessState {
  const copied = completionPercent(s, now) === 100;
  const instant = s.instantAccessUntilMs !== undefined && now < s.instantAccessUntilMs;
  if (!copied) return instant ? 'InstantAccess' : 'Pending';
  return instant ? 'AvailableWithInstantAccess' : 'Available';
}

/** Download (grantAccess) needs the copy complete. */
export const snapshotReadable = (s: SnapshotRecord, now: number): boolean => completionPercent(s, now) === 100;

/**
 * "you can only have up to three incremental snapshots pending" per disk during a background copy
 * (includes/virtual-machines-disks-incremental-snapshots-restrictions.md). The error Azure answers is not
 * documented; OperationNotAllowed is the closest ARM shape.
 */
export function checkPendingCopies(state: EmulatorState, disk: DiskRecord, now: number, max: number): void {
  const pending = [...state.snapshots.values()].filter((s) => s.sourceDiskId.toLowerCase() === disk.id.toLowerCase() && completionPercent(s, now) < 100);
  if (pending.length >= max) {
    throw notAllowed(`Disk '${disk.name}' already has ${pending.length} snapshots whose background copy is in progress; at most ${max} can be pending. Retry when a copy completes.`);
  }
}

/**
 * GrantAccessData.fileFormat (VHD or VHDX) is "Used to specify the file format when making request for SAS on a VHDX
 * file format snapshot" (https://learn.microsoft.com/rest/api/compute/snapshots/grant-access), and "Snapshots with a
 * 4096 logical sector size are stored as VHDX" (includes/virtual-machines-disks-incremental-snapshots-restrictions.md).
 * So a 4096-byte-sector snapshot is granted only with fileFormat VHDX. What Azure answers without it is not
 * documented (AZURE-FIDELITY Appendix B item 8): the refusal here is inference, in the ARM 409 shape.
 */
export function checkFileFormat(s: SnapshotRecord, fileFormat: unknown): void {
  if (fileFormat !== undefined && fileFormat !== 'VHD' && fileFormat !== 'VHDX') throw invalid(`fileFormat '${String(fileFormat)}' is invalid; use VHD or VHDX.`);
  if (s.logicalSectorSize === 4096 && fileFormat !== 'VHDX') {
    throw notAllowed(`Snapshot '${s.name}' has a 4096-byte logical sector size and is stored as VHDX: request its SAS with fileFormat VHDX.`);
  }
}

/**
 * "Up to seven incremental snapshots per disk can be created every five minutes"; "A total of 500 ... at any given
 * time" (includes/virtual-machines-disks-incremental-snapshots-restrictions.md). Azure's status, code and message
 * for either are undocumented (AZURE-FIDELITY m1, Appendix B item 3): 409 OperationNotAllowed is the ARM shape
 * used here, and its wording is this emulator's own, which no client should parse.
 */
export function checkSnapshotLimits(
  state: EmulatorState,
  limits: { maxIncrementalSnapshotsPerDisk: number; maxSnapshotsPerWindow: number; snapshotWindowMs: number },
  now: number,
  disk: DiskRecord,
): void {
  const mine = [...state.snapshots.values()].filter((s) => s.incremental && s.sourceDiskId.toLowerCase() === disk.id.toLowerCase());
  if (mine.length >= limits.maxIncrementalSnapshotsPerDisk) {
    throw notAllowed(`Disk '${disk.name}' already has ${mine.length} incremental snapshots; the limit is ${limits.maxIncrementalSnapshotsPerDisk} per disk. Delete older snapshots first.`);
  }
  const recent = mine.filter((s) => s.createdAtMs > now - limits.snapshotWindowMs);
  if (recent.length >= limits.maxSnapshotsPerWindow) {
    throw new ArmError(
      409,
      'OperationNotAllowed',
      `Disk '${disk.name}' has had ${recent.length} incremental snapshots in the last 5 minutes; at most ${limits.maxSnapshotsPerWindow} are allowed. Retry later.`,
    );
  }
}

/** A disk Azure refuses to snapshot: one in upload state, or a Write Accelerator-enabled OS disk. */
export function checkSnapshotSource(state: EmulatorState, disk: DiskRecord): void {
  if (disk.state === 'ReadyToUpload' || disk.state === 'ActiveUpload') throw notAllowed(`Disk '${disk.name}' is in upload state and cannot be snapshotted.`);
  const owner = disk.managedBy ? state.vm(disk.managedBy) : undefined;
  if (owner?.osWriteAccelerator && owner.osDiskId.toLowerCase() === disk.id.toLowerCase()) {
    // "Snapshots are currently supported for only Write Accelerator-enabled data disks, and not the OS disk"
    // (how-to-enable-write-accelerator.md); the error code is not documented.
    throw notAllowed(`Disk '${disk.name}' is a Write Accelerator-enabled OS disk: snapshots are supported only for Write Accelerator-enabled data disks.`);
  }
}
