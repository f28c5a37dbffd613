import { Router, sendJson } from './http-util';
import type { ComputeResources } from './arm/resources';
import { EmulatorState, resourceId, type VmRecord } from './arm/state';
import { contentDigest, fill, randomWorkload, sha256, trim } from './guest';
import type { GuestFileSystems, GuestMount } from './guest-fs';

export interface VmDiskSpec {
  name: string;
  sizeBytes: number;
  /** -1 (or the first entry) is the OS disk. */
  lun: number;
  sku?: string;
  zones?: string[];
  logicalSectorSize?: number;
  maxShares?: number;
  dataAccessAuthMode?: 'AzureActiveDirectory' | 'None';
  networkAccessPolicy?: 'AllowAll' | 'AllowPrivate' | 'DenyAll';
  diskAccessId?: string;
  diskEncryptionSetId?: string;
  /** The data disk attachment's settings (VirtualMachine storageProfile.dataDisks). */
  caching?: 'None' | 'ReadOnly' | 'ReadWrite';
  writeAcceleratorEnabled?: boolean;
  deleteOption?: 'Delete' | 'Detach';
  /** Where a Linux guest mounts this disk (default `/` for the OS disk, `/data<lun>` for data disks) and its type. */
  mount?: { target: string; fsType?: string };
}

export interface VmSpec {
  subscriptionId: string;
  resourceGroup: string;
  name: string;
  location?: string;
  osType?: 'Linux' | 'Windows';
  powerState?: VmRecord['powerState'];
  agentReady?: boolean;
  tags?: Record<string, string>;
  disks: VmDiskSpec[];
  /** `FromImage` (default: a VM created from an image) or `Attach` (a VM built on an existing OS disk). */
  osCreateOption?: 'FromImage' | 'Attach';
  zones?: string[];
  /** hardwareProfile.vmSize (default Standard_D2s_v5): it caps the data disks an update may attach (arm/vm-sizes.ts). */
  vmSize?: string;
  /** The Hyper-V generation of the VM and its OS disk (default V1; Trusted Launch and CVM need V2). */
  hyperVGeneration?: 'V1' | 'V2';
  architecture?: 'x64' | 'Arm64';
  securityType?: 'TrustedLaunch' | 'ConfidentialVM';
  /** Ephemeral OS disk (diffDiskSettings): the OS disk is not a resource ARM can find (ephemeral-os-disks.md). */
  ephemeralOs?: boolean;
  /** Write Accelerator on the OS disk (M-series): its snapshots are refused. */
  writeAcceleratedOs?: boolean;
  /** Data disks as VHD blobs in a storage account, outside Microsoft.Compute. */
  unmanagedDataDisks?: { lun: number; name: string; vhdUri: string }[];
}

/** Seeds a VM with its disks in one call (what a real subscription already has). */
export function createVm(r: ComputeResources, spec: VmSpec, guests?: GuestFileSystems): VmRecord {
  const location = spec.location ?? 'westeurope';
  const osIndex = Math.max(
    0,
    spec.disks.findIndex((d) => d.lun < 0),
  );
  const cvm = spec.securityType === 'ConfidentialVM' ? 'ConfidentialVM_VMGuestStateOnlyEncryptedWithPlatformKey' : spec.securityType;
  const made = spec.disks.map((d, i) => {
    const isOs = i === osIndex;
    const disk = r.putDisk(spec.subscriptionId, spec.resourceGroup, d.name, {
      location,
      sku: { name: d.sku ?? 'Premium_LRS' },
      zones: d.zones ?? spec.zones,
      properties: {
        creationData: { createOption: 'Empty', ...(d.logicalSectorSize ? { logicalSectorSize: d.logicalSectorSize } : {}) },
        diskSizeBytes: d.sizeBytes,
        osType: isOs ? (spec.osType ?? 'Linux') : undefined,
        hyperVGeneration: isOs ? spec.hyperVGeneration : undefined,
        supportedCapabilities: isOs && spec.architecture ? { architecture: spec.architecture } : undefined,
        securityProfile: isOs && cvm ? { securityType: cvm } : undefined,
        encryption: d.diskEncryptionSetId ? { type: 'EncryptionAtRestWithCustomerKey', diskEncryptionSetId: d.diskEncryptionSetId } : undefined,
        maxShares: d.maxShares,
        dataAccessAuthMode: d.dataAccessAuthMode,
        networkAccessPolicy: d.networkAccessPolicy,
        diskAccessId: d.diskAccessId,
      },
    });
    if (isOs && spec.ephemeralOs) disk.ephemeral = true;
    return disk;
  });
  const osDisk = made[osIndex]!;
  const vm = r.putVm(
    spec.subscriptionId,
    spec.resourceGroup,
    spec.name,
    {
      location,
      tags: spec.tags ?? {},
      zones: spec.zones,
      properties: {
        ...(spec.vmSize ? { hardwareProfile: { vmSize: spec.vmSize } } : {}),
        securityProfile: spec.securityType ? { securityType: spec.securityType, uefiSettings: { secureBootEnabled: true, vTpmEnabled: true } } : undefined,
        storageProfile: {
          osDisk: {
            osType: spec.osType ?? 'Linux',
            managedDisk: { id: osDisk.id },
            ...(spec.ephemeralOs ? { diffDiskSettings: { option: 'Local', placement: 'ResourceDisk' } } : {}),
            ...(spec.writeAcceleratedOs ? { writeAcceleratorEnabled: true } : {}),
          },
          dataDisks: [
            ...spec.disks
              .map((d, i) => ({ d, i }))
              .filter(({ i }) => i !== osIndex)
              .map(({ d, i }) => ({ lun: d.lun, managedDisk: { id: made[i]!.id }, caching: d.caching, writeAcceleratorEnabled: d.writeAcceleratorEnabled, deleteOption: d.deleteOption })),
            ...(spec.unmanagedDataDisks ?? []).map((u) => ({ lun: u.lun, name: u.name, vhd: { uri: u.vhdUri } })),
          ],
        },
      },
    },
    spec.osCreateOption ?? 'FromImage',
  );
  vm.powerState = spec.powerState ?? 'running';
  vm.agentReady = spec.agentReady ?? true;
  if (guests && spec.disks.some((d) => d.mount)) {
    guests.setMounts(
      vm,
      spec.disks.map((d, i): GuestMount => ({ target: d.mount?.target ?? (i === osIndex ? '/' : `/data${d.lun}`), fsType: d.mount?.fsType ?? 'ext4', lun: i === osIndex ? -1 : d.lun })),
    );
  }
  return vm;
}

/**
 * Test and demo controls under /_emulator: seed VMs, act as the guest on a disk, read digests, see Run Command
 * history and frozen guests, move the clock. Resource ids travel URL-encoded in the `id` query parameter.
 */
export function adminRouter(r: ComputeResources, clock: { advance(ms: number): void }, guests: GuestFileSystems): Router {
  const id = (u: URL): string => {
    const v = u.searchParams.get('id');
    if (!v || !r.store.get(EmulatorState.key(v))) throw Object.assign(new Error(`unknown resource ${v}`), { status: 404 });
    return EmulatorState.key(v);
  };
  // A guest write to a frozen file system blocks in Linux until the thaw; a synchronous admin call cannot wait,
  // so it is refused (409) and counted in guests.blockedWrites.
  const writable = (key: string): string => {
    const disk = r.state.disk(key);
    const vm = disk?.managedBy ? r.state.vm(disk.managedBy) : undefined;
    const frozen = vm ? guests.writeBlockedBy(vm, disk!.id) : undefined;
    if (frozen) throw Object.assign(new Error(`guest write blocked: the file system on ${frozen} is frozen (fsfreeze)`), { status: 409, code: 'GuestFileSystemFrozen' });
    return key;
  };
  // biome-ignore lint/suspicious/noExplicitAny: request and response bodies are JSON of any shape
  const body = (b: Buffer): Record<string, any> => (b.length ? JSON.parse(b.toString()) : {});
  const safe = (fn: (c: Parameters<Parameters<Router['add']>[2]>[0]) => void) => (c: Parameters<Parameters<Router['add']>[2]>[0]) => {
    try {
      fn(c);
    } catch (err) {
      sendJson(c.res, (err as { status?: number }).status ?? 400, { error: { code: (err as { code?: string }).code ?? 'BadRequest', message: (err as Error).message } });
    }
  };
  return (
    new Router()
      .add(
        'POST',
        '/_emulator/vms',
        safe((c) => sendJson(c.res, 201, { id: createVm(r, body(c.body) as VmSpec, guests).id })),
      )
      .add(
        'POST',
        '/_emulator/guest/fill',
        safe((c) => {
          const b = body(c.body);
          fill(r.store, writable(id(c.url)), b.offset, b.length, b.seed ?? 1);
          sendJson(c.res, 200, { ok: true });
        }),
      )
      .add(
        'POST',
        '/_emulator/guest/trim',
        safe((c) => {
          const b = body(c.body);
          trim(r.store, writable(id(c.url)), b.offset, b.length);
          sendJson(c.res, 200, { ok: true });
        }),
      )
      .add(
        'POST',
        '/_emulator/guest/workload',
        safe((c) => {
          const b = body(c.body);
          sendJson(c.res, 200, { ops: randomWorkload(r.store, writable(id(c.url)), { seed: b.seed ?? 1, ops: b.ops ?? 10, maxWriteBytes: b.maxWriteBytes }).length });
        }),
      )
      // Every guest with a frozen file system: a test asserts `items` is empty when no guest is left frozen.
      .add('GET', '/_emulator/guests/frozen', (c) => sendJson(c.res, 200, { items: guests.allFrozen(), blockedWrites: guests.blockedWrites }))
      .add(
        'GET',
        '/_emulator/digest',
        safe((c) => {
          const key = id(c.url);
          const full = c.url.searchParams.get('sha256') === 'true';
          sendJson(c.res, 200, { contentDigest: contentDigest(r.store, key), ...(full ? { sha256: sha256(r.store, key) } : {}), sizeBytes: r.store.get(key)!.sizeBytes });
        }),
      )
      .add('GET', '/_emulator/runcommands', (c) => sendJson(c.res, 200, { items: r.state.runCommands }))
      .add(
        'POST',
        '/_emulator/clock',
        safe((c) => {
          clock.advance(Number(body(c.body).advanceMs ?? 0));
          sendJson(c.res, 200, { now: r.clock() });
        }),
      )
      .add('GET', '/_emulator/snapshots', (c) =>
        sendJson(c.res, 200, { items: [...r.state.snapshots.values()].map((s) => ({ id: s.id, sourceDiskId: s.sourceDiskId, openSas: r.state.grantsOf(s.id).length })) }),
      )
  );
}

export { resourceId };
