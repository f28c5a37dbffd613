import { ArmError, invalid, notAllowed } from './errors';
import { EmulatorState, type DiskRecord } from './state';
import { hasGuestState, type diskPropsFrom } from './disk-props';
import { accessState } from './snapshot-copy';
import type { MemoryDiskStore } from '../disk/store';
import type { ArmFidelityStats } from './fidelity';

// biome-ignore lint/suspicious/noExplicitAny: request and response bodies are JSON of any shape
type Body = Record<string, any>;

export const GIB = 1024 ** 3;
export const MAX_DISK = 32 * 1024 ** 4;

/** A new disk's bytes and state by its createOption (Empty, Copy from a snapshot or disk, Upload). */
export function createDiskContent(
  ctx: { state: EmulatorState; store: MemoryDiskStore; clock: () => number; stats: ArmFidelityStats },
  key: string,
  props: Body,
  cd: Body,
  extra: ReturnType<typeof diskPropsFrom>,
  location?: string,
): { size: number; state: DiskRecord['state']; uploadSizeBytes?: number } {
  let size: number;
  let state: DiskRecord['state'] = 'Unattached';
  let uploadSizeBytes: number | undefined;
  switch (cd.createOption) {
    case 'Empty':
      size = sizeOf(props);
      ctx.store.createDisk(key, size);
      break;
    case 'Copy': {
      const snap = ctx.state.snapshot(cd.sourceResourceId ?? '');
      const srcDisk = ctx.state.disk(cd.sourceResourceId ?? '');
      const src = snap ?? (srcDisk && !srcDisk.ephemeral ? srcDisk : undefined);
      if (!src) throw new ArmError(404, 'NotFound', `Source '${cd.sourceResourceId}' was not found.`);
      // Copy works within the source's region: a source in another region is looked up in the target's and not
      // found (Azure/azure-cli#9732 "Resource ... is not found", #11909 ResourceNotFound); across regions a
      // snapshot is copied with CopyStart (disks-copy-incremental-snapshot-across-regions.md).
      if (location && src.location.toLowerCase() !== location.toLowerCase()) {
        throw new ArmError(404, 'ResourceNotFound', `The Resource '${cd.sourceResourceId}' was not found in location '${location}'.`);
      }
      if (snap && accessState(snap, ctx.clock()) === 'Pending') {
        // "can't be used to create new disks until the background process ... has completed"
        // (disks-incremental-snapshots.md); Azure's error code is not documented, this is the closest ARM shape.
        ctx.stats.snapshotsRefusedNotReady++;
        throw notAllowed(`Snapshot '${snap.name}' cannot be used to create a disk yet: its background copy is not complete (CompletionPercent must be 100).`);
      }
      if (snap) {
        extra.hyperVGeneration ??= snap.hyperVGeneration as DiskRecord['hyperVGeneration'];
        if (snap.securityType && !extra.securityProfile) extra.securityProfile = { securityType: snap.securityType };
        props.osType ??= snap.osType;
      }
      size = Math.max(src.sizeBytes, props.diskSizeGB ? props.diskSizeGB * GIB : 0);
      ctx.store.copyDisk(key, EmulatorState.key(src.id), size);
      break;
    }
    case 'Upload':
    case 'UploadPreparedSecure': {
      // "uploadSizeBytes ... should be between 20972032 (20 MiB + 512 bytes for the VHD footer) and
      // 35183298347520 bytes (32 TiB + 512 bytes for the VHD footer)" (diskRPCommon.json CreationData).
      const u = Number(cd.uploadSizeBytes);
      if (!Number.isSafeInteger(u) || u < 20 * 1024 * 1024 + 512 || u > MAX_DISK + 512 || (u - 512) % (1024 * 1024) !== 0) {
        throw invalid(
          `uploadSizeBytes ${cd.uploadSizeBytes} is invalid: it must be the size of a fixed VHD, a whole number of MiB between 20 MiB and 32 TiB plus the 512-byte footer (20972032 to 35183298347520).`,
        );
      }
      // UploadPreparedSecure: "for a Trusted Launch or Confidential VM disk, with its VM guest state"
      // (diskRPCommon.json CreationData enum; Disk_Create_FromUploadPreparedSecure.json).
      if (cd.createOption === 'UploadPreparedSecure' && !hasGuestState(extra.securityProfile?.securityType)) {
        throw invalid("createOption 'UploadPreparedSecure' needs securityProfile.securityType TrustedLaunch or ConfidentialVM_*.");
      }
      uploadSizeBytes = u;
      size = u - 512;
      state = 'ReadyToUpload';
      ctx.store.createDisk(key, u);
      break;
    }
    default:
      throw invalid(`createOption '${cd.createOption}' is not supported by this emulator (Empty, Copy, Upload, UploadPreparedSecure).`);
  }
  return { size, state, uploadSizeBytes };
}

export function sizeOf(props: Body): number {
  const bytes = props.diskSizeBytes !== undefined ? Number(props.diskSizeBytes) : Number(props.diskSizeGB) * GIB;
  if (!Number.isSafeInteger(bytes) || bytes <= 0 || bytes > MAX_DISK || bytes % 512 !== 0) {
    throw invalid(`The disk size is invalid: give diskSizeGB between 1 and 32767.`);
  }
  return bytes;
}
