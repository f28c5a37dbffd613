import { PermanentStepError } from '../../errors';
import type { VmDisk, VmInfo } from '../../ports/compute';

const MAX_DATA_DISKS = 64;

/**
 * The disks vmbackup cannot back up, each with Azure's reason and what to do, checked at registration and again
 * before every backup (a disk may be attached or changed since). Premium SSD v2 and Ultra disks are backed up:
 * their snapshots are waited for until their background copy completes (workflows/backup/readiness.ts).
 */
type Rule = (vm: VmInfo, o: EligibilityContext) => PermanentStepError | undefined;

/** What the app can do that some disks need: an identity that sends Entra tokens to the disk data plane. */
export interface EligibilityContext {
  entraDataAccess: boolean;
}

const onDisk =
  (pick: (d: VmDisk, o: EligibilityContext) => boolean, make: (d: VmDisk, vm: VmInfo) => PermanentStepError): Rule =>
  (vm, o) => {
    const d = vm.disks.find((x) => pick(x, o));
    return d ? make(d, vm) : undefined;
  };

const RULES: Rule[] = [
  // Unmanaged disks are VHD blobs in a storage account (storageProfile ... vhd.uri): no managed snapshot exists
  // for them, and a backup that skipped them would look complete without them.
  (vm) => {
    const u = vm.unmanagedDisks?.[0];
    if (!u) return undefined;
    const names = vm.unmanagedDisks!.map((x) => `'${x.name}'`).join(', ');
    return new PermanentStepError(
      'UnmanagedDisksNotSupported',
      `VM '${vm.name}' has unmanaged (VHD blob) disks: ${names}. vmbackup backs up managed disks through their incremental snapshots, which unmanaged disks do not have.`,
      'Migrate the VM to managed disks (az vm convert, https://learn.microsoft.com/azure/virtual-machines/linux/convert-unmanaged-to-managed-disks), then register it again.',
    );
  },
  // Ephemeral OS disks do not support "Disk snapshots" (azure-compute-docs articles/virtual-machines/ephemeral-os-disks.md).
  onDisk(
    (d) => !!d.ephemeral,
    (d, vm) =>
      new PermanentStepError(
        'EphemeralOsDiskNotSupported',
        `The OS disk '${d.name}' of VM '${vm.name}' is an ephemeral OS disk, which lives on the host and cannot be snapshotted in Azure.`,
        'Keep the state that matters on managed data disks and redeploy the VM with a managed OS disk, or rebuild it from its image instead of backing it up.',
      ),
  ),
  // "Snapshots are currently supported for only Write Accelerator-enabled data disks, and not the OS disk"
  // (azure-compute-docs articles/virtual-machines/how-to-enable-write-accelerator.md).
  onDisk(
    (d) => d.lun < 0 && !!d.profile?.writeAcceleratorEnabled,
    (d, vm) =>
      new PermanentStepError(
        'WriteAcceleratedOsDisk',
        `The OS disk '${d.name}' of VM '${vm.name}' has Write Accelerator on, and Azure takes snapshots only of Write Accelerator data disks, not of the OS disk.`,
        'Turn Write Accelerator off on the OS disk (keep it on the log data disks, which can be snapshotted), then register the VM again.',
      ),
  ),
  // Shared disks: each VM sharing the disk would back it up, and one guest's freeze does not hold the others'
  // writes (includes/virtual-machines-disks-shared-limitations.md; AZURE-FIDELITY m5).
  onDisk(
    (d) => (d.profile?.maxShares ?? 1) > 1,
    (d, vm) =>
      new PermanentStepError(
        'SharedDiskNotSupported',
        `Disk '${d.name}' of VM '${vm.name}' is a shared disk (maxShares ${d.profile!.maxShares}): every VM it is attached to writes to it, so a snapshot frozen from one guest is not consistent, and each VM would back it up again.`,
        'Back up the clustered application with its own tools or with Azure Backup for shared disks, or set maxShares to 1 if the disk is no longer shared, then register the VM again.',
      ),
  ),
  // dataAccessAuthMode AzureActiveDirectory: export needs an Entra identity with "Data Operator for Managed Disks"
  // as well as the SAS (azure-compute-docs articles/virtual-machines/disks-secure-upload-download.md). The app
  // sends its identity's token for the disk audience (adapters/azure/sas-data-plane.ts); without an identity for
  // disk data, such a disk is refused here rather than failing every backup with 403.
  onDisk(
    (d, o) => d.dataAccessAuthMode === 'AzureActiveDirectory' && !o.entraDataAccess,
    (d, vm) =>
      new PermanentStepError(
        'DiskRequiresEntraDataAccess',
        `Disk '${d.name}' of VM '${vm.name}' requires Entra ID authentication for data access (dataAccessAuthMode AzureActiveDirectory), and this app has no identity to read disk data with.`,
        "Run the app with its managed identity and grant it the 'Data Operator for Managed Disks' role on the disk's resource group, or set the disk's data access authentication mode to None (az disk update --data-access-auth-mode None), then register the VM again.",
      ),
  ),
  // "DenyAll: Disk cannot be exported" (DiskRP disk.json NetworkAccessPolicy).
  onDisk(
    (d) => d.profile?.networkAccessPolicy === 'DenyAll',
    (d, vm) =>
      new PermanentStepError(
        'DiskExportDenied',
        `Disk '${d.name}' of VM '${vm.name}' has networkAccessPolicy DenyAll, so Azure refuses any export of it or of its snapshots.`,
        "Set the disk's network access policy to AllowAll (az disk update --network-access-policy AllowAll), then register the VM again.",
      ),
  ),
  // AllowPrivate: the SAS works only through the disk access's private endpoint, and public use gets 403
  // (disk.json NetworkAccessPolicy; Azure/azure-storage-azcopy#2667). vmbackup cannot tell whether it runs inside
  // that network, and a backup that cannot read fails only after its retries.
  onDisk(
    (d) => d.profile?.networkAccessPolicy === 'AllowPrivate',
    (d, vm) =>
      new PermanentStepError(
        'DiskPrivateEndpointOnly',
        `Disk '${d.name}' of VM '${vm.name}' can be exported only through the private endpoint of its disk access, which vmbackup is not set up to reach.`,
        "Set the disk's network access policy to AllowAll, or exclude the VM; private-endpoint export needs the function app in the disk access's virtual network, which vmbackup does not support yet.",
      ),
  ),
  (vm) =>
    vm.disks.filter((d) => d.lun >= 0).length > MAX_DATA_DISKS
      ? new PermanentStepError('TooManyDisks', `VM '${vm.name}' has more than ${MAX_DATA_DISKS} data disks.`, 'Azure VMs have at most 64 data disks; check the VM definition.')
      : undefined,
];

export function eligibilityProblem(vm: VmInfo, o: EligibilityContext): PermanentStepError | undefined {
  for (const rule of RULES) {
    const problem = rule(vm, o);
    if (problem) return problem;
  }
  return undefined;
}
