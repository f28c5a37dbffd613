/** What vmbackup needs from Azure Resource Manager (Microsoft.Compute). IDs are full ARM resource ids. */
import type { DiskRestoreProfile, OsType } from '../domain/model';

export type { DiskRestoreProfile, OsType };
export type PowerState = 'running' | 'stopped' | 'deallocated' | 'starting' | 'stopping' | 'deallocating' | 'unknown';

export interface VmDisk {
  /** -1 for the OS disk, the LUN for data disks. */
  lun: number;
  diskId: string;
  name: string;
  sizeBytes: number;
  sku?: string;
  /** The disk's own settings and its attachment's, as a restore needs them (absent where the adapter cannot tell). */
  profile?: DiskRestoreProfile;
  /** What happens to the disk when the VM is deleted (Delete or Detach), kept when a replace re-attaches at this LUN. */
  deleteOption?: string;
  /** An ephemeral OS disk (`diffDiskSettings`): it lives on the host and Azure cannot snapshot it. */
  ephemeral?: boolean;
  /** `AzureActiveDirectory` when export needs an Entra token as well as the SAS (disks-secure-upload-download.md). */
  dataAccessAuthMode?: string;
}

/** A data disk that is a VHD blob in a storage account (`vhd.uri`), outside Microsoft.Compute: no managed snapshots. */
export interface UnmanagedDisk {
  lun: number;
  name: string;
  vhdUri: string;
}

export interface VmInfo {
  id: string;
  name: string;
  resourceGroup: string;
  subscriptionId: string;
  location: string;
  size?: string;
  osType: OsType;
  powerState: PowerState;
  guestAgentReady: boolean;
  tags: Record<string, string>;
  disks: VmDisk[];
  /** The VM's availability zone, if it is zonal: its disks must be in it (or ZRS). */
  zones?: string[];
  /** securityProfile.securityType of the VM (absent: Standard). */
  securityType?: string;
  /** properties.provisioningState (Succeeded, Updating, Failed…). */
  provisioningState?: string;
  /** How the OS disk was created (FromImage, Attach): Azure never lets an update change it. */
  osCreateOption?: string;
  /** The OS disk is ephemeral (diffDiskSettings): it cannot be swapped. */
  ephemeralOsDisk?: boolean;
  /** Unmanaged (VHD) disks, which `disks` does not hold: a backup would silently miss them. */
  unmanagedDisks?: UnmanagedDisk[];
}

/** A data disk at a LUN with the attachment settings the VM model keeps for it. */
export interface DataDiskAttachment {
  lun: number;
  diskId: string;
  caching?: string;
  writeAcceleratorEnabled?: boolean;
  deleteOption?: string;
}

export interface SnapshotInfo {
  id: string;
  name: string;
  sourceDiskId: string;
  sizeBytes: number;
  incremental: boolean;
  createdAt?: string;
  location?: string;
  /**
   * Background copy of a Premium SSD v2 / Ultra snapshot: below 100 the snapshot cannot be downloaded; "Snapshots
   * of other disk types always report 100%" (disks-incremental-snapshots.md). Absent: ready.
   */
  completionPercent?: number;
  /** snapshotAccessState (Pending, InstantAccess, AvailableWithInstantAccess, Available; diskRPCommon.json). */
  accessState?: string;
  /** Why the background copy failed (copyCompletionError), when it did. */
  copyError?: string;
  /** 4096-byte-sector snapshots are stored as VHDX and need fileFormat VHDX in the grant. */
  logicalSectorSize?: number;
  /** creationData.sourceUniqueId: the instance of the source disk, new when a disk is recreated under the same name. */
  sourceUniqueId?: string;
  /** "Get Page Range Diff API can only be called on incremental snapshots with the same family id" (snapshot.json). */
  familyId?: string;
}

/** GrantAccessData.fileFormat: "Used to specify the file format when making request for SAS on a VHDX file format snapshot". */
export type SnapshotFileFormat = 'VHD' | 'VHDX';

export interface DiskInfo {
  id: string;
  name: string;
  sizeBytes: number;
  managedBy?: string;
  state?: string;
  zones?: string[];
  sku?: string;
  hyperVGeneration?: string;
  securityType?: string;
  diskEncryptionSetId?: string;
}

/**
 * A grant with `getSecureVMGuestStateSAS: true`: the disk's or snapshot's SAS and `securityDataAccessSAS`, "A SAS
 * uri for accessing a VM guest state" (AccessUri; https://learn.microsoft.com/rest/api/compute/disks/grant-access).
 */
export interface GuestStateAccess {
  accessSAS: string;
  securityDataAccessSAS?: string;
}

export interface RunCommandResult {
  /**
   * The script's own verdict, not the operation's state (Azure keeps that 'succeeded' for failing scripts):
   * Linux exit status 0; Windows nothing on StdErr (Azure reports no Windows exit code, so a script that
   * must prove success says so on StdOut, see workflows/backup/guest-scripts.ts).
   */
  succeeded: boolean;
  output: string;
  /** Linux: parsed from Azure's message ("Enable succeeded" is 0, "exit status=N" is N). Windows: absent. */
  exitStatus?: number;
  stdout?: string;
  stderr?: string;
}

export interface ComputePort {
  listVms(subscriptionId: string): AsyncIterable<VmInfo>;
  getVm(vmId: string): Promise<VmInfo | undefined>;
  runCommand(vmId: string, osType: OsType, script: string, timeoutSeconds: number): Promise<RunCommandResult>;
  deallocateVm(vmId: string): Promise<void>;
  startVm(vmId: string): Promise<void>;
  /**
   * Swaps the OS disk as Azure documents it: only `osDisk.managedDisk.id` and `osDisk.name` change, the rest of
   * the OS disk (createOption above all) is sent as the VM has it (azure-compute-docs windows/os-disk-swap.md).
   */
  swapOsDisk(vmId: string, disk: { diskId: string; name: string }): Promise<void>;
  /** One update that removes the data disks at these LUNs from the VM (the disks stay, Unattached). */
  detachDataDisks(vmId: string, luns: number[]): Promise<void>;
  /** One update that attaches these disks at their LUNs, with their caching, write accelerator and delete option. */
  attachDataDisks(vmId: string, disks: DataDiskAttachment[]): Promise<void>;

  getDisk(diskId: string): Promise<DiskInfo | undefined>;
  /**
   * A new empty disk in upload state of exactly `sizeBytes` usable bytes. `secure`: createOption
   * UploadPreparedSecure with the profile's security type, whose VM guest state is uploaded too (grantGuestState).
   */
  createUploadDisk(args: {
    subscriptionId: string;
    resourceGroup: string;
    name: string;
    location: string;
    sizeBytes: number;
    sku?: string;
    osType?: OsType;
    tags?: Record<string, string>;
    profile?: DiskRestoreProfile;
    secure?: boolean;
  }): Promise<DiskInfo>;
  /**
   * A new disk holding a snapshot's content (createOption Copy): made by the platform, no data through the caller.
   * Its size is the snapshot's; the profile's settings (SKU, zone, generation...) apply where given.
   */
  createDiskFromSnapshot(args: {
    snapshotId: string;
    subscriptionId: string;
    resourceGroup: string;
    name: string;
    location: string;
    sku?: string;
    osType?: OsType;
    tags?: Record<string, string>;
    profile?: DiskRestoreProfile;
  }): Promise<DiskInfo>;
  grantDiskWrite(diskId: string, durationSeconds: number): Promise<string>;
  /**
   * Grant access to a disk or snapshot (by its id) with `getSecureVMGuestStateSAS: true`: Read of a Trusted Launch
   * disk or snapshot, Write of an UploadPreparedSecure disk. Azure refuses it for a resource without a security type.
   */
  grantGuestState(resourceId: string, access: 'Read' | 'Write', durationSeconds: number): Promise<GuestStateAccess>;
  revokeDisk(diskId: string): Promise<void>;
  deleteDisk(diskId: string): Promise<void>;

  createIncrementalSnapshot(args: { diskId: string; resourceGroup: string; name: string; location: string; tags?: Record<string, string> }): Promise<SnapshotInfo>;
  getSnapshot(snapshotId: string): Promise<SnapshotInfo | undefined>;
  listSnapshots(subscriptionId: string, resourceGroup: string): AsyncIterable<SnapshotInfo & { tags: Record<string, string> }>;
  deleteSnapshot(snapshotId: string): Promise<void>;
  grantSnapshotRead(snapshotId: string, durationSeconds: number, options?: { fileFormat?: SnapshotFileFormat }): Promise<string>;
  revokeSnapshot(snapshotId: string): Promise<void>;
}

export function parseResourceId(id: string): { subscriptionId: string; resourceGroup: string; name: string; type: string } {
  const m = /^\/subscriptions\/([^/]+)\/resourceGroups\/([^/]+)\/providers\/Microsoft\.Compute\/([^/]+)\/([^/]+)$/i.exec(id);
  if (!m) throw new Error(`not a Microsoft.Compute resource id: ${id}`);
  return { subscriptionId: m[1]!, resourceGroup: m[2]!, type: m[3]!, name: m[4]! };
}
