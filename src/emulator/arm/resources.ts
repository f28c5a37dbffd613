import { randomUUID } from 'node:crypto';
import type { MemoryDiskStore } from '../disk/store';
import type { SasIssuer } from '../data/sas';
import { ArmError, invalid, notAllowed, notFound } from './errors';
import { EmulatorState, resourceId, type DiskRecord, type SnapshotRecord, type VmRecord } from './state';
import { parseFooter } from '../vhd-check';

export interface Limits {
  maxIncrementalSnapshotsPerDisk: number;
  maxSnapshotsPerWindow: number;
  snapshotWindowMs: number;
  maxOpenSnapshotSasPerDisk: number;
}

export const AZURE_LIMITS: Limits = { maxIncrementalSnapshotsPerDisk: 500, maxSnapshotsPerWindow: 7, snapshotWindowMs: 5 * 60_000, maxOpenSnapshotSasPerDisk: 5 };

const GIB = 1024 ** 3;
const MAX_DISK = 32 * 1024 ** 4;

type Body = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

/** The resource logic of Microsoft.Compute: what ARM validates and how state moves. No HTTP here. */
export class ComputeResources {
  constructor(
    readonly state: EmulatorState,
    readonly store: MemoryDiskStore,
    readonly sas: SasIssuer,
    readonly clock: () => number,
    readonly limits: Limits,
  ) {}

  // ---- disks ----
  putDisk(sub: string, rg: string, name: string, body: Body): DiskRecord {
    const id = resourceId(sub, rg, 'disks', name);
    const existing = this.state.disk(id);
    const props = body.properties ?? {};
    if (existing) return this.patchDisk(existing, body);
    if (!body.location) throw invalid("The property 'location' is required.");
    const cd = props.creationData ?? {};
    let size: number;
    let state: DiskRecord['state'] = 'Unattached';
    let uploadSizeBytes: number | undefined;
    const key = EmulatorState.key(id);
    switch (cd.createOption) {
      case 'Empty':
        size = sizeOf(props);
        this.store.createDisk(key, size);
        break;
      case 'Copy': {
        const src = this.state.snapshot(cd.sourceResourceId ?? '') ?? this.state.disk(cd.sourceResourceId ?? '');
        if (!src) throw new ArmError(404, 'NotFound', `Source '${cd.sourceResourceId}' was not found.`);
        size = Math.max(src.sizeBytes, props.diskSizeGB ? props.diskSizeGB * GIB : 0);
        this.store.copyDisk(key, EmulatorState.key(src.id), size);
        break;
      }
      case 'Upload': {
        const u = Number(cd.uploadSizeBytes);
        if (!Number.isSafeInteger(u) || u < 20 * 1024 * 1024 + 512 || u > MAX_DISK + 512 || (u - 512) % (1024 * 1024) !== 0) {
          throw invalid(`uploadSizeBytes ${cd.uploadSizeBytes} is invalid: it must be the size of a fixed VHD, a whole number of MiB between 20 MiB and 32 TiB plus the 512-byte footer.`);
        }
        uploadSizeBytes = u;
        size = u - 512;
        state = 'ReadyToUpload';
        this.store.createDisk(key, u);
        break;
      }
      default:
        throw invalid(`createOption '${cd.createOption}' is not supported by this emulator (Empty, Copy, Upload).`);
    }
    const d: DiskRecord = {
      id, name, resourceGroup: rg, subscriptionId: sub, location: body.location, sizeBytes: size, sku: body.sku?.name ?? 'Premium_LRS',
      state, uploadSizeBytes, osType: props.osType, tags: body.tags ?? {}, timeCreated: new Date(this.clock()).toISOString(), creationData: cd,
    };
    this.state.disks.set(key, d);
    return d;
  }

  patchDisk(d: DiskRecord, body: Body): DiskRecord {
    const props = body.properties ?? {};
    if (props.diskSizeGB !== undefined || props.diskSizeBytes !== undefined) {
      const size = sizeOf(props);
      if (size < d.sizeBytes) throw notAllowed(`Disk '${d.name}' cannot shrink from ${d.sizeBytes} to ${size} bytes.`);
      if (d.managedBy && size !== d.sizeBytes) throw notAllowed(`Disk '${d.name}' is attached to a VM; deallocate the VM or detach the disk to resize it.`);
      this.store.resizeDisk(EmulatorState.key(d.id), size);
      d.sizeBytes = size;
    }
    if (body.tags) d.tags = body.tags;
    return d;
  }

  deleteDisk(d: DiskRecord): void {
    if (d.managedBy) throw notAllowed(`Disk ${d.name} is attached to VM ${d.managedBy}.`);
    this.sas.revokeAll(d.id);
    this.store.deleteResource(EmulatorState.key(d.id));
    this.state.disks.delete(EmulatorState.key(d.id));
  }

  grantDisk(d: DiskRecord, access: string, seconds: number): string {
    if (access === 'Write') {
      if (d.state !== 'ReadyToUpload' && d.state !== 'ActiveUpload') throw notAllowed(`Disk '${d.name}' is not ready for upload: Write access needs a disk created with createOption Upload.`);
      d.state = 'ActiveUpload';
      return this.sas.issue(d.id, 'Write', seconds);
    }
    if (access !== 'Read') throw invalid(`access '${access}' is not valid; use Read or Write.`);
    if (d.managedBy) throw notAllowed(`Disk '${d.name}' is attached to a running VM; create a snapshot and export it instead.`);
    if (d.state === 'ReadyToUpload' || d.state === 'ActiveUpload') throw notAllowed(`Disk '${d.name}' is in upload state.`);
    d.state = 'ActiveSAS';
    return this.sas.issue(d.id, 'Read', seconds);
  }

  revokeDisk(d: DiskRecord): void {
    this.sas.revokeAll(d.id);
    if (d.state === 'ActiveUpload') {
      const key = EmulatorState.key(d.id);
      const footer = parseFooter(this.store.read(key, d.uploadSizeBytes! - 512, 512));
      if (!footer || footer.currentSize !== d.sizeBytes) {
        d.state = 'ReadyToUpload';
        throw new ArmError(400, 'InvalidVhd', `Disk '${d.name}': the uploaded content does not end with a valid fixed VHD footer of ${d.sizeBytes} bytes.`);
      }
      this.store.truncateDisk(key, d.sizeBytes);
    }
    if (d.state !== 'ReadyToUpload') d.state = d.managedBy ? 'Attached' : 'Unattached';
  }

  // ---- snapshots ----
  putSnapshot(sub: string, rg: string, name: string, body: Body): SnapshotRecord {
    const id = resourceId(sub, rg, 'snapshots', name);
    const existing = this.state.snapshot(id);
    if (existing) {
      if (body.tags) existing.tags = body.tags;
      return existing;
    }
    const props = body.properties ?? {};
    const cd = props.creationData ?? {};
    if (!body.location) throw invalid("The property 'location' is required.");
    if (cd.createOption !== 'Copy') throw invalid(`createOption '${cd.createOption}' is not supported for snapshots (Copy).`);
    const disk = this.state.disk(cd.sourceResourceId ?? '');
    if (!disk) throw new ArmError(404, 'NotFound', `Source disk '${cd.sourceResourceId}' was not found.`);
    if (disk.state === 'ReadyToUpload' || disk.state === 'ActiveUpload') throw notAllowed(`Disk '${disk.name}' is in upload state and cannot be snapshotted.`);
    const incremental = props.incremental === true;
    if (incremental) this.checkSnapshotLimits(disk);
    const key = EmulatorState.key(id);
    this.store.createSnapshot(key, EmulatorState.key(disk.id), incremental);
    const s: SnapshotRecord = {
      id, name, resourceGroup: rg, subscriptionId: sub, location: body.location, sizeBytes: disk.sizeBytes, incremental,
      sourceDiskId: disk.id, tags: body.tags ?? {}, timeCreated: new Date(this.clock()).toISOString(), createdAtMs: this.clock(),
    };
    this.state.snapshots.set(key, s);
    return s;
  }

  private checkSnapshotLimits(disk: DiskRecord): void {
    const mine = [...this.state.snapshots.values()].filter((s) => s.incremental && s.sourceDiskId.toLowerCase() === disk.id.toLowerCase());
    if (mine.length >= this.limits.maxIncrementalSnapshotsPerDisk) {
      throw notAllowed(`Disk '${disk.name}' already has ${mine.length} incremental snapshots; the limit is ${this.limits.maxIncrementalSnapshotsPerDisk} per disk. Delete older snapshots first.`);
    }
    const recent = mine.filter((s) => s.createdAtMs > this.clock() - this.limits.snapshotWindowMs);
    if (recent.length >= this.limits.maxSnapshotsPerWindow) {
      throw new ArmError(409, 'OperationNotAllowed', `Disk '${disk.name}' has had ${recent.length} incremental snapshots in the last 5 minutes; at most ${this.limits.maxSnapshotsPerWindow} are allowed. Retry later.`);
    }
  }

  deleteSnapshot(s: SnapshotRecord): void {
    this.sas.revokeAll(s.id);
    this.store.deleteResource(EmulatorState.key(s.id));
    this.state.snapshots.delete(EmulatorState.key(s.id));
  }

  grantSnapshot(s: SnapshotRecord, access: string, seconds: number): string {
    if (access !== 'Read') throw invalid(`access '${access}' is not valid for a snapshot; use Read.`);
    const open = this.state.grantsOf(s.id).some((g) => g.expiresAt > this.clock());
    if (!open && this.sas.openSnapshotsOf(s.sourceDiskId) >= this.limits.maxOpenSnapshotSasPerDisk) {
      throw notAllowed(`At most ${this.limits.maxOpenSnapshotSasPerDisk} snapshots of one disk can have an active SAS. Revoke access to another snapshot of this disk first.`);
    }
    return this.sas.issueSnapshot(s.id, s.sourceDiskId, s.createdAtMs, seconds);
  }

  // ---- virtual machines ----
  putVm(sub: string, rg: string, name: string, body: Body): VmRecord {
    const id = resourceId(sub, rg, 'virtualMachines', name);
    const existing = this.state.vm(id);
    const sp = body.properties?.storageProfile;
    if (!existing) {
      if (!body.location) throw invalid("The property 'location' is required.");
      if (!sp?.osDisk?.managedDisk?.id) throw invalid('storageProfile.osDisk.managedDisk.id is required (attach an existing managed disk).');
      const vm: VmRecord = {
        id, name, resourceGroup: rg, subscriptionId: sub, location: body.location, vmSize: body.properties?.hardwareProfile?.vmSize ?? 'Standard_D2s_v5',
        osType: sp.osDisk.osType ?? 'Linux', powerState: 'running', agentReady: true, tags: body.tags ?? {}, osDiskId: '', dataDisks: [], vmId: randomUUID(),
        runCommandResult: { succeeded: true, output: 'Enable succeeded' },
      };
      this.applyStorage(vm, sp);
      this.state.vms.set(EmulatorState.key(id), vm);
      return vm;
    }
    return this.patchVm(existing, body);
  }

  patchVm(vm: VmRecord, body: Body): VmRecord {
    const sp = body.properties?.storageProfile;
    if (sp) this.applyStorage(vm, sp);
    if (body.tags) vm.tags = body.tags;
    if (body.properties?.hardwareProfile?.vmSize) vm.vmSize = body.properties.hardwareProfile.vmSize;
    return vm;
  }

  private applyStorage(vm: VmRecord, sp: Body): void {
    const osId: string = sp.osDisk?.managedDisk?.id ?? vm.osDiskId;
    const data: { lun: number; diskId: string }[] = sp.dataDisks
      ? sp.dataDisks.map((d: Body) => ({ lun: Number(d.lun), diskId: String(d.managedDisk?.id ?? '') }))
      : vm.dataDisks;
    if (osId.toLowerCase() !== vm.osDiskId.toLowerCase() && vm.osDiskId && vm.powerState !== 'deallocated' && vm.powerState !== 'stopped') {
      throw notAllowed(`The OS disk of VM '${vm.name}' can only be swapped while the VM is stopped or deallocated.`);
    }
    const luns = new Set<number>();
    for (const d of data) {
      if (!Number.isInteger(d.lun) || d.lun < 0 || d.lun > 63) throw invalid(`LUN ${d.lun} is invalid; use 0-63.`);
      if (luns.has(d.lun)) throw invalid(`LUN ${d.lun} is used twice.`);
      luns.add(d.lun);
    }
    const wanted = [osId, ...data.map((d) => d.diskId)];
    for (const id of wanted) {
      const disk = this.state.disk(id);
      if (!disk) throw new ArmError(404, 'NotFound', `Disk '${id}' was not found.`);
      if (disk.managedBy && disk.managedBy.toLowerCase() !== vm.id.toLowerCase()) throw new ArmError(409, 'Conflict', `Disk '${disk.name}' is already attached to VM '${disk.managedBy}'.`);
      if (disk.state === 'ReadyToUpload' || disk.state === 'ActiveUpload') throw notAllowed(`Disk '${disk.name}' is still in upload state.`);
    }
    for (const id of [vm.osDiskId, ...vm.dataDisks.map((d) => d.diskId)]) {
      const disk = id ? this.state.disk(id) : undefined;
      if (disk) { disk.managedBy = undefined; disk.state = 'Unattached'; }
    }
    for (const id of wanted) {
      const disk = this.state.disk(id)!;
      disk.managedBy = vm.id;
      disk.state = 'Attached';
    }
    vm.osDiskId = this.state.disk(osId)!.id;
    vm.dataDisks = data.map((d) => ({ lun: d.lun, diskId: this.state.disk(d.diskId)!.id })).sort((a, b) => a.lun - b.lun);
  }

  deleteVm(vm: VmRecord): void {
    for (const id of [vm.osDiskId, ...vm.dataDisks.map((d) => d.diskId)]) {
      const disk = this.state.disk(id);
      if (disk) { disk.managedBy = undefined; disk.state = 'Unattached'; }
    }
    this.state.vms.delete(EmulatorState.key(vm.id));
  }

  runCommand(vm: VmRecord, body: Body): { succeeded: boolean; output: string } {
    if (vm.powerState !== 'running') throw new ArmError(409, 'OperationNotAllowed', `Cannot run a command on VM '${vm.name}' because it is ${vm.powerState}.`);
    if (!vm.agentReady) throw new ArmError(409, 'VMAgentStatusCommunicationError', `VM '${vm.name}' has not reported status for the VM agent.`);
    this.state.runCommands.push({ vmId: vm.id, commandId: String(body.commandId ?? ''), script: Array.isArray(body.script) ? body.script.map(String) : [], at: this.clock() });
    return vm.runCommandResult;
  }

  requireVm(sub: string, rg: string, name: string): VmRecord {
    const vm = this.state.vm(resourceId(sub, rg, 'virtualMachines', name));
    if (!vm) throw notFound('virtualMachines', name, rg);
    return vm;
  }

  requireDisk(sub: string, rg: string, name: string): DiskRecord {
    const d = this.state.disk(resourceId(sub, rg, 'disks', name));
    if (!d) throw notFound('disks', name, rg);
    return d;
  }

  requireSnapshot(sub: string, rg: string, name: string): SnapshotRecord {
    const s = this.state.snapshot(resourceId(sub, rg, 'snapshots', name));
    if (!s) throw notFound('snapshots', name, rg);
    return s;
  }
}

function sizeOf(props: Body): number {
  const bytes = props.diskSizeBytes !== undefined ? Number(props.diskSizeBytes) : Number(props.diskSizeGB) * GIB;
  if (!Number.isSafeInteger(bytes) || bytes <= 0 || bytes > MAX_DISK || bytes % 512 !== 0) {
    throw invalid(`The disk size is invalid: give diskSizeGB between 1 and 32767.`);
  }
  return bytes;
}
