import { parseVhdFooter, VHD_FOOTER_SIZE } from '../../engine/vhd';
import type { ComputePort, DataDiskAttachment, DiskInfo, GuestStateAccess, OsType, RunCommandResult, SnapshotInfo, VmInfo } from '../../ports/compute';
import { MemoryCloud, resourceId, type CloudDisk, type CloudSnapshot } from './cloud';
import { MemoryServiceError, PageMap } from './pages';
import { attachDataDisks, detachDataDisks, swapOsDisk } from './vm-disks';
import { checkSnapshotLimits, snapshotInfoOf, vmInfoOf } from './compute-views';

const MIB = 1024 * 1024;
/** The VM guest state blob's size (Azure documents none; the compute emulator uses the same). */
const GUEST_STATE_BYTES = 4 * MIB;
const notAllowed = (message: string): MemoryServiceError => new MemoryServiceError(409, 'OperationNotAllowed', message);
const uploading = (d: CloudDisk): boolean => d.state === 'ReadyToUpload' || d.state === 'ActiveUpload';

/**
 * ComputePort on a MemoryCloud, with the rules Microsoft.Compute enforces (and the compute emulator models):
 * upload disks, write SAS only in upload state, the VHD footer checked when upload access is revoked,
 * attached disks not deletable, the VM updates of a disk replace (vm-disks.ts), snapshot limits.
 */
export class MemoryCompute implements ComputePort {
  constructor(readonly cloud: MemoryCloud) {}

  async *listVms(subscriptionId: string): AsyncIterable<VmInfo> {
    for (const vm of [...this.cloud.vms.values()]) if (vm.subscriptionId.toLowerCase() === subscriptionId.toLowerCase()) yield vmInfoOf(this.cloud, vm);
  }

  async getVm(vmId: string): Promise<VmInfo | undefined> {
    const vm = this.cloud.vm(vmId);
    return vm ? vmInfoOf(this.cloud, vm) : undefined;
  }

  /** Run Command needs a running VM with a ready agent (https://learn.microsoft.com/azure/virtual-machines/linux/run-command). */
  async runCommand(vmId: string, _osType: OsType, script: string): Promise<RunCommandResult> {
    const vm = this.cloud.requireVm(vmId);
    if (vm.powerState !== 'running') throw notAllowed(`Cannot run a command on VM '${vm.name}' because it is ${vm.powerState}.`);
    if (!vm.agentReady) throw new MemoryServiceError(409, 'VMAgentStatusCommunicationError', `VM '${vm.name}' has not reported status for the VM agent.`);
    this.cloud.runCommands.push({ vmId: vm.id, script });
    return { ...vm.runCommandResult };
  }

  async deallocateVm(vmId: string): Promise<void> {
    this.cloud.requireVm(vmId).powerState = 'deallocated';
  }

  async startVm(vmId: string): Promise<void> {
    this.cloud.requireVm(vmId).powerState = 'running';
  }

  async swapOsDisk(vmId: string, disk: { diskId: string; name: string }): Promise<void> {
    swapOsDisk(this.cloud, vmId, disk.diskId);
  }

  async detachDataDisks(vmId: string, luns: number[]): Promise<void> {
    detachDataDisks(this.cloud, vmId, luns);
  }

  async attachDataDisks(vmId: string, disks: DataDiskAttachment[]): Promise<void> {
    attachDataDisks(this.cloud, vmId, disks);
  }

  async getDisk(diskId: string): Promise<DiskInfo | undefined> {
    const d = this.cloud.disk(diskId);
    return d
      ? {
          id: d.id,
          name: d.name,
          sizeBytes: d.sizeBytes,
          managedBy: d.managedBy,
          state: d.state,
          zones: d.zones,
          sku: d.sku,
          hyperVGeneration: d.hyperVGeneration,
          securityType: d.securityType,
          diskEncryptionSetId: d.diskEncryptionSetId,
        }
      : undefined;
  }

  /**
   * Direct upload takes a fixed VHD of N MiB plus the 512-byte footer, between 20 MiB and 32 TiB
   * (https://learn.microsoft.com/dotnet/api/azure.resourcemanager.compute.models.diskcreationdata.uploadsizebytes).
   * A PUT of an existing disk is an update: the disk stays what it is.
   */
  async createUploadDisk(a: Parameters<ComputePort['createUploadDisk']>[0]): Promise<DiskInfo> {
    const id = resourceId(a.subscriptionId, a.resourceGroup, 'disks', a.name);
    const existing = this.cloud.disk(id);
    if (existing) return { id: existing.id, name: existing.name, sizeBytes: existing.sizeBytes, managedBy: existing.managedBy, state: existing.state };
    const upload = a.sizeBytes + VHD_FOOTER_SIZE;
    if (!Number.isSafeInteger(a.sizeBytes) || a.sizeBytes < 20 * MIB || a.sizeBytes > 32 * 1024 ** 4 || a.sizeBytes % MIB !== 0) {
      throw new MemoryServiceError(400, 'InvalidParameter', `uploadSizeBytes ${upload} is invalid: it must be a whole number of MiB between 20 MiB and 32 TiB plus the 512-byte footer.`);
    }
    const d: CloudDisk = {
      id,
      name: a.name,
      subscriptionId: a.subscriptionId,
      resourceGroup: a.resourceGroup,
      location: a.location,
      sizeBytes: a.sizeBytes,
      sku: a.sku ?? 'Premium_LRS',
      state: 'ReadyToUpload',
      uploadSizeBytes: upload,
      osType: a.osType,
      tags: a.tags ?? {},
      content: new PageMap(upload),
      zones: a.profile?.zones && !/_zrs$/i.test(a.sku ?? '') ? [...a.profile.zones] : undefined,
      hyperVGeneration: a.profile?.hyperVGeneration,
      securityType: a.profile?.securityType,
      diskEncryptionSetId: a.profile?.diskEncryptionSetId,
      guestState: a.secure && a.profile?.securityType ? new PageMap(GUEST_STATE_BYTES) : undefined,
    };
    this.cloud.disks.set(MemoryCloud.key(id), d);
    return { id, name: a.name, sizeBytes: a.sizeBytes, state: d.state };
  }

  /**
   * createOption Copy from a snapshot: the disk gets the snapshot's size and content. Only in the snapshot's
   * region: another region's snapshot is not found there (404 ResourceNotFound, Azure/azure-cli#9732 and #11909;
   * a cross-region copy needs CopyStart). A PUT of an existing disk is an update: the disk stays what it is.
   */
  async createDiskFromSnapshot(a: Parameters<ComputePort['createDiskFromSnapshot']>[0]): Promise<DiskInfo> {
    const id = resourceId(a.subscriptionId, a.resourceGroup, 'disks', a.name);
    const existing = this.cloud.disk(id);
    if (existing) return { id: existing.id, name: existing.name, sizeBytes: existing.sizeBytes, managedBy: existing.managedBy, state: existing.state };
    const s = this.cloud.snapshot(a.snapshotId);
    if (!s || s.location.toLowerCase() !== a.location.toLowerCase()) throw new MemoryServiceError(404, 'ResourceNotFound', `Resource '${a.snapshotId}' is not found in location '${a.location}'.`);
    const d: CloudDisk = {
      id,
      name: a.name,
      subscriptionId: a.subscriptionId,
      resourceGroup: a.resourceGroup,
      location: a.location,
      sizeBytes: s.sizeBytes,
      sku: a.sku ?? 'Standard_LRS',
      state: 'Unattached',
      osType: a.osType,
      tags: a.tags ?? {},
      content: s.content.copy(),
      // As the Azure adapter's copyDiskProperties: the profile's zone, generation and security go on the copy.
      zones: a.profile?.zones && !/_zrs$/i.test(a.sku ?? '') ? [...a.profile.zones] : undefined,
      hyperVGeneration: a.profile?.hyperVGeneration,
      securityType: a.profile?.securityType,
      diskEncryptionSetId: a.profile?.diskEncryptionSetId,
    };
    this.cloud.disks.set(MemoryCloud.key(id), d);
    return { id, name: a.name, sizeBytes: d.sizeBytes, state: d.state };
  }

  async grantDiskWrite(diskId: string, durationSeconds: number): Promise<string> {
    const d = this.cloud.requireDisk(diskId);
    if (!uploading(d)) throw notAllowed(`Disk '${d.name}' is not ready for upload: Write access needs a disk created with createOption Upload.`);
    d.state = 'ActiveUpload';
    return this.cloud.issueSas(d.id, 'Write', durationSeconds);
  }

  /**
   * Ending an upload checks the fixed VHD footer and drops it
   * (https://learn.microsoft.com/azure/virtual-machines/linux/disks-upload-vhd-to-managed-disk-cli); a bad footer
   * fails the revoke with 400 InvalidVhd and leaves the disk in upload state (service answer quoted in
   * https://github.com/microsoft/AzureStorageExplorer/issues/8800).
   */
  /**
   * getSecureVMGuestStateSAS: the resource's SAS and one for its VM guest state; "(BadRequest) GetSecureVMGuestStateSAS
   * can be set only for disk with SecurityProfile." without a security type (Azure/azure-powershell PR #24635).
   */
  async grantGuestState(id: string, access: 'Read' | 'Write', durationSeconds: number): Promise<GuestStateAccess> {
    const r = this.cloud.disk(id) ?? this.cloud.requireSnapshot(id);
    if (!r.securityType || r.securityType === 'Standard') throw new MemoryServiceError(400, 'BadRequest', 'GetSecureVMGuestStateSAS can be set only for disk with SecurityProfile.');
    const accessSAS =
      'seq' in r ? await this.grantSnapshotRead(id, durationSeconds) : access === 'Write' ? await this.grantDiskWrite(id, durationSeconds) : this.cloud.issueSas(r.id, 'Read', durationSeconds);
    r.guestState ??= new PageMap(GUEST_STATE_BYTES);
    return { accessSAS, securityDataAccessSAS: this.cloud.issueSas(`${r.id}/guestState`, access, durationSeconds) };
  }

  async revokeDisk(diskId: string): Promise<void> {
    this.cloud.revokeAll(`${diskId}/guestState`);
    const d = this.cloud.disk(diskId);
    if (!d) return;
    this.cloud.revokeAll(d.id);
    if (d.state === 'ActiveUpload') {
      const footer = parseVhdFooter(d.content.read({ start: d.sizeBytes, end: d.uploadSizeBytes! }));
      if (!footer || footer.currentSize !== d.sizeBytes) {
        d.state = 'ReadyToUpload';
        throw new MemoryServiceError(400, 'InvalidVhd', `Disk '${d.name}': the uploaded content does not end with a valid fixed VHD footer of ${d.sizeBytes} bytes.`);
      }
      d.content.resize(d.sizeBytes);
    }
    if (d.state !== 'ReadyToUpload') d.state = d.managedBy ? 'Attached' : 'Unattached';
  }

  async deleteDisk(diskId: string): Promise<void> {
    const d = this.cloud.disk(diskId);
    if (!d) return;
    if (d.managedBy) throw notAllowed(`Disk ${d.name} is attached to VM ${d.managedBy}.`);
    this.cloud.revokeAll(d.id);
    this.cloud.disks.delete(MemoryCloud.key(d.id));
  }

  async createIncrementalSnapshot(a: { diskId: string; resourceGroup: string; name: string; location: string; tags?: Record<string, string> }): Promise<SnapshotInfo> {
    const disk = this.cloud.requireDisk(a.diskId);
    const id = resourceId(disk.subscriptionId, a.resourceGroup, 'snapshots', a.name);
    const existing = this.cloud.snapshot(id);
    if (existing) {
      if (a.tags) existing.tags = { ...a.tags };
      return snapshotInfoOf(existing);
    }
    if (uploading(disk)) throw notAllowed(`Disk '${disk.name}' is in upload state and cannot be snapshotted.`);
    checkSnapshotLimits(this.cloud, disk);
    const s: CloudSnapshot = {
      id,
      name: a.name,
      subscriptionId: disk.subscriptionId,
      resourceGroup: a.resourceGroup,
      location: a.location,
      sizeBytes: disk.sizeBytes,
      sourceDiskId: disk.id,
      tags: { ...(a.tags ?? {}) },
      createdAtMs: this.cloud.clock(),
      seq: this.cloud.nextSeq(),
      content: disk.content.copy(),
      securityType: disk.securityType,
      guestState: disk.guestState?.copy(),
    };
    this.cloud.snapshots.set(MemoryCloud.key(id), s);
    return snapshotInfoOf(s);
  }

  async getSnapshot(snapshotId: string): Promise<SnapshotInfo | undefined> {
    const s = this.cloud.snapshot(snapshotId);
    return s ? snapshotInfoOf(s) : undefined;
  }

  async *listSnapshots(subscriptionId: string, resourceGroup: string): AsyncIterable<SnapshotInfo & { tags: Record<string, string> }> {
    for (const s of [...this.cloud.snapshots.values()]) {
      if (s.subscriptionId.toLowerCase() === subscriptionId.toLowerCase() && s.resourceGroup.toLowerCase() === resourceGroup.toLowerCase()) yield snapshotInfoOf(s);
    }
  }

  async deleteSnapshot(snapshotId: string): Promise<void> {
    const s = this.cloud.snapshot(snapshotId);
    if (!s) return;
    this.cloud.revokeAll(s.id);
    this.cloud.snapshots.delete(MemoryCloud.key(s.id));
  }

  async grantSnapshotRead(snapshotId: string, durationSeconds: number): Promise<string> {
    const s = this.cloud.requireSnapshot(snapshotId);
    if (this.cloud.openGrants(s.id).length === 0) {
      const open = [...this.cloud.snapshots.values()].filter((x) => x.sourceDiskId.toLowerCase() === s.sourceDiskId.toLowerCase() && this.cloud.openGrants(x.id).length > 0);
      if (open.length >= this.cloud.limits.maxOpenSnapshotSasPerDisk) {
        throw notAllowed(`At most ${this.cloud.limits.maxOpenSnapshotSasPerDisk} snapshots of one disk can have an active SAS. Revoke access to another snapshot of this disk first.`);
      }
    }
    return this.cloud.issueSas(s.id, 'Read', durationSeconds);
  }

  async revokeSnapshot(snapshotId: string): Promise<void> {
    const s = this.cloud.snapshot(snapshotId);
    if (s) this.cloud.revokeAll(s.id);
    if (s) this.cloud.revokeAll(`${s.id}/guestState`);
  }
}
