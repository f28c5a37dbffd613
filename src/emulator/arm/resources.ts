import { randomUUID } from 'node:crypto';
import type { MemoryDiskStore } from '../disk/store';
import type { SasIssuer } from '../data/sas';
import { ArmError, invalid, notAllowed, notFound } from './errors';
import { computeId, diskUniqueId, EmulatorState, resourceId, type DiskRecord, type SnapshotRecord, type VmRecord } from './state';
import { parseFooter } from '../vhd-check';
import { resolveFidelity, newArmFidelityStats, type ArmFidelityOptions, type ArmFidelityStats } from './fidelity';
import { diskPropsFrom, grantRequirements, hasGuestState, isBackgroundCopySku } from './disk-props';
import { applyStorage, detach, newVm } from './vm-model';
import { accessState, checkFileFormat, checkPendingCopies, checkSnapshotLimits, checkSnapshotSource, snapshotReadable } from './snapshot-copy';
import { createDiskContent, sizeOf } from './disk-create';
import { createGuestState, deleteGuestState, guestStateId, guestStateRefused, hasStoredGuestState, seedOf } from './guest-state';

export interface Limits {
  maxIncrementalSnapshotsPerDisk: number;
  maxSnapshotsPerWindow: number;
  snapshotWindowMs: number;
  maxOpenSnapshotSasPerDisk: number;
}

export const AZURE_LIMITS: Limits = { maxIncrementalSnapshotsPerDisk: 500, maxSnapshotsPerWindow: 7, snapshotWindowMs: 5 * 60_000, maxOpenSnapshotSasPerDisk: 5 };

// biome-ignore lint/suspicious/noExplicitAny: request and response bodies are JSON of any shape
type Body = Record<string, any>;

/** The resource logic of Microsoft.Compute: what ARM validates and how state moves. No HTTP here. */
export class ComputeResources {
  constructor(
    readonly state: EmulatorState,
    readonly store: MemoryDiskStore,
    readonly sas: SasIssuer,
    readonly clock: () => number,
    readonly limits: Limits,
    readonly fidelity: ArmFidelityOptions = resolveFidelity(),
    readonly stats: ArmFidelityStats = newArmFidelityStats(),
    /** OS disk swaps must keep the disk size (os-disk-swap.md); see vm-model.ts for why this can be turned off. */
    readonly osDiskSwapSameSize = true,
  ) {}

  private id(sub: string, rg: string, type: 'virtualMachines' | 'disks' | 'snapshots', name: string): string {
    return computeId(sub, rg, type, name, this.fidelity.upperCaseResourceGroupInIds);
  }

  putDisk(sub: string, rg: string, name: string, body: Body): DiskRecord {
    const id = this.id(sub, rg, 'disks', name);
    const existing = this.state.disk(id);
    const props = body.properties ?? {};
    if (existing && !existing.ephemeral) return this.patchDisk(existing, body);
    if (existing) throw notAllowed(`Disk '${name}' is the ephemeral OS disk of a VM and cannot be changed.`);
    // The Disk PUT's sku is optional (DiskRP 2025-01-02 Disk_Create_UploadDisk.json sends none) and the swagger
    // states no default; Standard_LRS is what is commonly reported (AZURE-FIDELITY M6), so it is the default here.
    const sku: string = body.sku?.name ?? this.fidelity.defaultDiskSku;
    const extra = diskPropsFrom(body, sku);
    if (!body.location) throw invalid("The property 'location' is required.");
    const cd = props.creationData ?? {};
    const key = EmulatorState.key(id);
    const { size, state, uploadSizeBytes } = createDiskContent(this, key, props, cd, extra, body.location);
    const d: DiskRecord = {
      id,
      name,
      resourceGroup: rg,
      subscriptionId: sub,
      location: body.location,
      sizeBytes: size,
      sku,
      state,
      uploadSizeBytes,
      osType: props.osType,
      tags: body.tags ?? {},
      timeCreated: new Date(this.clock()).toISOString(),
      creationData: cd,
      uniqueId: randomUUID(),
      ...extra,
    };
    const st = d.securityProfile?.securityType;
    // Empty: the platform's initial state; Copy: the source's; Upload*: blank, written through securityDataAccessSAS.
    createGuestState(this.store, id, st, cd.createOption === 'Empty' ? { seed: seedOf(d.uniqueId!) } : cd.createOption === 'Copy' ? { from: cd.sourceResourceId } : {});
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
    const p = body.properties ?? {};
    if (p.dataAccessAuthMode !== undefined || p.networkAccessPolicy !== undefined || p.maxShares !== undefined) {
      const upd = diskPropsFrom({ properties: { dataAccessAuthMode: p.dataAccessAuthMode, networkAccessPolicy: p.networkAccessPolicy, diskAccessId: p.diskAccessId, maxShares: p.maxShares } }, d.sku);
      Object.assign(d, Object.fromEntries(Object.entries(upd).filter(([k]) => k !== 'logicalSectorSize')));
    }
    return d;
  }

  deleteDisk(d: DiskRecord): void {
    if (d.managedBy) throw notAllowed(`Disk ${d.name} is attached to VM ${d.managedBy}.`);
    this.sas.revokeAll(d.id);
    this.sas.revokeAll(guestStateId(d.id));
    this.store.deleteResource(EmulatorState.key(d.id));
    deleteGuestState(this.store, d.id);
    this.state.disks.delete(EmulatorState.key(d.id));
  }

  grantDisk(d: DiskRecord, access: string, seconds: number, guestState = false): { accessSAS: string; securityDataAccessSAS?: string } {
    if (d.networkAccessPolicy === 'DenyAll') {
      // "DenyAll: Disk cannot be exported" (disk.json NetworkAccessPolicy); the error code is not documented.
      throw notAllowed(`Disk '${d.name}' has networkAccessPolicy DenyAll: it cannot be exported or uploaded.`);
    }
    if (guestState && !hasGuestState(d.securityProfile?.securityType)) throw guestStateRefused();
    if (access === 'Write') {
      if (d.state !== 'ReadyToUpload' && d.state !== 'ActiveUpload') throw notAllowed(`Disk '${d.name}' is not ready for upload: Write access needs a disk created with createOption Upload.`);
      d.state = 'ActiveUpload';
      const accessSAS = this.issue(d.id, 'Write', seconds, grantRequirements(d));
      const secure = (d.creationData as { createOption?: string }).createOption === 'UploadPreparedSecure';
      return { accessSAS, ...(secure && guestState ? { securityDataAccessSAS: this.issue(guestStateId(d.id), 'Write', seconds) } : {}) };
    }
    if (access !== 'Read') throw invalid(`access '${access}' is not valid; use Read or Write.`);
    if (d.managedBy) throw notAllowed(`Disk '${d.name}' is attached to a running VM; create a snapshot and export it instead.`);
    if (d.state === 'ReadyToUpload' || d.state === 'ActiveUpload') throw notAllowed(`Disk '${d.name}' is in upload state.`);
    d.state = 'ActiveSAS';
    const accessSAS = this.issue(d.id, 'Read', seconds, grantRequirements(d));
    if (!guestState) return { accessSAS };
    // A disk made before its guest state was kept gets a blank one rather than a SAS to nothing.
    if (!hasStoredGuestState(this.store, d.id)) createGuestState(this.store, d.id, d.securityProfile?.securityType, {});
    return { accessSAS, securityDataAccessSAS: this.issue(guestStateId(d.id), 'Read', seconds, grantRequirements(d)) };
  }

  /** Issues a SAS and records on the grant what else the data plane would need (the hook in Grant.requires). */
  private issue(resourceId: string, access: 'Read' | 'Write', seconds: number, requires?: { bearerAudience?: string; privateEndpoint?: boolean }): string {
    const url = this.sas.issue(resourceId, access, seconds);
    const gid = /[?&]si=md-([0-9a-f]+)/.exec(url)?.[1];
    const g = gid ? this.state.grants.get(gid) : undefined;
    if (g && requires) g.requires = requires;
    return url;
  }

  revokeSnapshot(s: SnapshotRecord): void {
    this.sas.revokeAll(s.id);
    this.sas.revokeAll(guestStateId(s.id));
  }

  revokeDisk(d: DiskRecord): void {
    this.sas.revokeAll(d.id);
    this.sas.revokeAll(guestStateId(d.id));
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

  putSnapshot(sub: string, rg: string, name: string, body: Body): SnapshotRecord {
    const id = this.id(sub, rg, 'snapshots', name);
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
    // Ephemeral OS disks support no "Disk snapshots" and are not found as resources (ephemeral-os-disks.md).
    if (!disk || disk.ephemeral) throw new ArmError(404, 'NotFound', `Source disk '${cd.sourceResourceId}' was not found.`);
    checkSnapshotSource(this.state, disk);
    const incremental = props.incremental === true;
    const background = isBackgroundCopySku(disk.sku);
    // Premium SSD v2 and Ultra disks take incremental snapshots only (disks-incremental-snapshots.md).
    if (background && !incremental) throw invalid(`Disks of sku ${disk.sku} support only incremental snapshots.`);
    if (incremental) checkSnapshotLimits(this.state, this.limits, this.clock(), disk);
    if (background) checkPendingCopies(this.state, disk, this.clock(), this.fidelity.maxPendingSnapshotCopiesPerDisk);
    const key = EmulatorState.key(id);
    this.store.createSnapshot(key, EmulatorState.key(disk.id), incremental);
    const now = this.clock();
    const instantMin = Number(cd.instantAccessDurationMinutes ?? 0);
    const s: SnapshotRecord = {
      id,
      name,
      resourceGroup: rg,
      subscriptionId: sub,
      location: body.location,
      sizeBytes: disk.sizeBytes,
      incremental,
      sourceDiskId: disk.id,
      tags: body.tags ?? {},
      timeCreated: new Date(now).toISOString(),
      createdAtMs: now,
      sourceSku: disk.sku,
      copyDoneAtMs: background ? now + this.fidelity.snapshotCopyMs : now,
      instantAccessUntilMs: background && instantMin > 0 ? now + (instantMin * 60_000) / this.fidelity.timeScale : undefined,
      hyperVGeneration: disk.hyperVGeneration,
      securityType: disk.securityProfile?.securityType,
      osType: disk.osType,
      logicalSectorSize: disk.logicalSectorSize,
      dataAccessAuthMode: props.dataAccessAuthMode ?? disk.dataAccessAuthMode,
      networkAccessPolicy: props.networkAccessPolicy ?? disk.networkAccessPolicy,
      sourceUniqueId: diskUniqueId(disk),
    };
    this.state.snapshots.set(key, s);
    // The snapshot keeps the disk's guest state as it is now (a blank one for a disk that has none stored).
    createGuestState(this.store, s.id, s.securityType, { from: disk.id });
    return s;
  }

  deleteSnapshot(s: SnapshotRecord): void {
    this.revokeSnapshot(s);
    this.store.deleteResource(EmulatorState.key(s.id));
    deleteGuestState(this.store, s.id);
    this.state.snapshots.delete(EmulatorState.key(s.id));
  }

  grantSnapshot(s: SnapshotRecord, access: string, seconds: number, guestState = false, fileFormat?: unknown): { accessSAS: string; securityDataAccessSAS?: string } {
    if (access !== 'Read') throw invalid(`access '${access}' is not valid for a snapshot; use Read.`);
    if (guestState && !hasGuestState(s.securityType)) throw guestStateRefused();
    if (!snapshotReadable(s, this.clock())) {
      // "CompletionPercent must be 100 before you can ... generate a SAS URI for downloading" (disks-incremental-
      // snapshots.md); Pending and InstantAccess "cannot be ... downloaded" (diskRPCommon.json). The error code
      // Azure answers is not documented (AZURE-FIDELITY Appendix B item 8): OperationNotAllowed is the closest shape.
      this.stats.snapshotsRefusedNotReady++;
      throw notAllowed(`Snapshot '${s.name}' cannot be downloaded yet: its background copy is not complete (snapshotAccessState ${accessState(s, this.clock())}).`);
    }
    if (s.networkAccessPolicy === 'DenyAll') throw notAllowed(`Snapshot '${s.name}' has networkAccessPolicy DenyAll: it cannot be exported.`);
    checkFileFormat(s, fileFormat);
    const open = this.state.grantsOf(s.id).some((g) => g.expiresAt > this.clock());
    if (!open && this.sas.openSnapshotsOf(s.sourceDiskId) >= this.limits.maxOpenSnapshotSasPerDisk) {
      throw notAllowed(`At most ${this.limits.maxOpenSnapshotSasPerDisk} snapshots of one disk can have an active SAS. Revoke access to another snapshot of this disk first.`);
    }
    const accessSAS = this.sas.issueSnapshot(s.id, s.sourceDiskId, s.createdAtMs, seconds);
    const gid = new URL(accessSAS).searchParams.get('si');
    const g = gid ? this.state.grants.get(gid) : undefined;
    if (g) g.requires = grantRequirements(s);
    // getSecureVMGuestStateSAS: "a SAS for the VM guest state" of Trusted Launch / CVM snapshots, answered as
    // securityDataAccessSAS (diskRPCommon.json GrantAccessData, AccessUri; Azure/azure-powershell PR #24635).
    // The guest-state blob lives in the store under `<snapshot id>/guestState` (guest-state.ts).
    if (guestState && hasGuestState(s.securityType)) return { accessSAS, securityDataAccessSAS: this.issue(guestStateId(s.id), 'Read', seconds, grantRequirements(s)) };
    return { accessSAS };
  }

  putVm(sub: string, rg: string, name: string, body: Body, osCreateOption?: VmRecord['osCreateOption']): VmRecord {
    const id = this.id(sub, rg, 'virtualMachines', name);
    const existing = this.state.vm(id);
    const sp = body.properties?.storageProfile;
    if (existing) return this.patchVm(existing, body);
    if (!body.location) throw invalid("The property 'location' is required.");
    if (!sp?.osDisk?.managedDisk?.id) throw invalid('storageProfile.osDisk.managedDisk.id is required (attach an existing managed disk).');
    const vm = newVm(id, name, rg, sub, body, osCreateOption ?? (sp.osDisk.createOption === 'FromImage' ? 'FromImage' : 'Attach'));
    applyStorage(this.state, vm, sp, false, this.osDiskSwapSameSize);
    this.state.vms.set(EmulatorState.key(id), vm);
    return vm;
  }

  patchVm(vm: VmRecord, body: Body): VmRecord {
    const sp = body.properties?.storageProfile;
    if (sp) applyStorage(this.state, vm, sp, true, this.osDiskSwapSameSize);
    if (body.tags) vm.tags = body.tags;
    if (body.properties?.hardwareProfile?.vmSize) vm.vmSize = body.properties.hardwareProfile.vmSize;
    return vm;
  }

  deleteVm(vm: VmRecord): void {
    for (const id of [vm.osDiskId, ...vm.dataDisks.map((d) => d.diskId)]) {
      const disk = this.state.disk(id);
      if (disk) detach(disk, vm.id);
    }
    this.state.vms.delete(EmulatorState.key(vm.id));
  }

  requireVm(sub: string, rg: string, name: string): VmRecord {
    const vm = this.state.vm(resourceId(sub, rg, 'virtualMachines', name));
    if (!vm) throw notFound('virtualMachines', name, rg);
    return vm;
  }

  requireDisk(sub: string, rg: string, name: string): DiskRecord {
    const d = this.state.disk(resourceId(sub, rg, 'disks', name));
    // An ephemeral OS disk is no managed-disk resource: its GET answers 404 (ephemeral-os-disks.md).
    if (!d || d.ephemeral) throw notFound('disks', name, rg);
    return d;
  }

  requireSnapshot(sub: string, rg: string, name: string): SnapshotRecord {
    const s = this.state.snapshot(resourceId(sub, rg, 'snapshots', name));
    if (!s) throw notFound('snapshots', name, rg);
    return s;
  }
}
export { diskUniqueId, guestStateId };
