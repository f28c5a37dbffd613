import { PermanentStepError, TransientError } from '../../errors';
import type { SnapshotInfo, VmInfo } from '../../ports/compute';
import type { CloudDisk, CloudSnapshot, CloudVm, MemoryCloud } from './cloud';

/** The port's view of a VM of the memory cloud, as ArmComputeAdapter reads one from ARM (vm-info.ts). */
export function vmInfoOf(cloud: MemoryCloud, vm: CloudVm): VmInfo {
  const disk = (lun: number, id: string) => {
    const d = cloud.requireDisk(id);
    const a = vm.dataDisks.find((x) => x.lun === lun);
    const profile = {
      lun,
      sku: d.sku,
      zones: d.zones,
      hyperVGeneration: d.hyperVGeneration as 'V1' | 'V2' | undefined,
      securityType: d.securityType,
      diskEncryptionSetId: d.diskEncryptionSetId,
      caching: a?.caching,
      writeAcceleratorEnabled: a?.writeAcceleratorEnabled,
      deleteOption: a?.deleteOption,
    };
    return { lun, diskId: d.id, name: d.name, sizeBytes: d.sizeBytes, sku: d.sku, profile, deleteOption: a?.deleteOption };
  };
  return {
    id: vm.id,
    name: vm.name,
    resourceGroup: vm.resourceGroup,
    subscriptionId: vm.subscriptionId,
    location: vm.location,
    osType: vm.osType,
    powerState: vm.powerState,
    guestAgentReady: vm.powerState === 'running' && vm.agentReady,
    tags: { ...vm.tags },
    disks: [disk(-1, vm.osDiskId), ...vm.dataDisks.map((d) => disk(d.lun, d.diskId))],
    zones: vm.zones,
    securityType: vm.securityType,
    provisioningState: vm.provisioningState ?? 'Succeeded',
    osCreateOption: vm.osCreateOption ?? 'FromImage',
  };
}

export function snapshotInfoOf(s: CloudSnapshot): SnapshotInfo & { tags: Record<string, string> } {
  return {
    id: s.id,
    name: s.name,
    sourceDiskId: s.sourceDiskId,
    sizeBytes: s.sizeBytes,
    incremental: true,
    createdAt: new Date(s.createdAtMs).toISOString(),
    location: s.location,
    tags: { ...s.tags },
  };
}

/** Azure's snapshot limits per disk: the total, and the rate in a window (the compute emulator models the same). */
export function checkSnapshotLimits(cloud: MemoryCloud, disk: CloudDisk): void {
  const { limits } = cloud;
  const mine = [...cloud.snapshots.values()].filter((s) => s.sourceDiskId.toLowerCase() === disk.id.toLowerCase());
  if (mine.length >= limits.maxIncrementalSnapshotsPerDisk) {
    // What ArmComputeAdapter makes of Azure's 409 for this limit: retrying cannot help.
    throw new PermanentStepError(
      'SnapshotLimitReached',
      `Disk '${disk.name}' already has the maximum number of incremental snapshots Azure allows (${limits.maxIncrementalSnapshotsPerDisk}), so no new backup snapshot can be taken.`,
      "Delete old snapshots of this disk that vmbackup did not create (or lower the policy's instant-restore days so fewer are kept), then run the backup again.",
    );
  }
  const now = cloud.clock();
  const recent = mine.filter((s) => s.createdAtMs > now - limits.snapshotWindowMs).sort((a, b) => a.createdAtMs - b.createdAtMs);
  if (recent.length >= limits.maxSnapshotsPerWindow) {
    // What ArmComputeAdapter makes of the refusal (adapters/azure/snapshot-info.ts): wait for the window.
    throw new TransientError(
      'SnapshotRateLimited',
      `Disk '${disk.name}' had ${recent.length} incremental snapshots in the last 5 minutes, the most Azure allows; the backup takes its snapshot when the window allows another.`,
      Math.max(1, recent[0]!.createdAtMs + limits.snapshotWindowMs - now),
    );
  }
}
