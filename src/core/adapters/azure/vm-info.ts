import type { Disk, VirtualMachine } from '@azure/arm-compute';
import { parseResourceId, type OsType, type PowerState, type VmDisk, type VmInfo } from '../../ports/compute';
import { armDiskProfile } from './disk-profile';

const GIB = 1024 ** 3;

export type DiskSize = { bytes: number; sku?: string; profile?: VmDisk['profile']; dataAccessAuthMode?: string };
type Attach = { caching?: string; writeAcceleratorEnabled?: boolean; deleteOption?: string };
/** Reads one attached disk (from a listing when there is one, else by a GET). */
export type DiskSizer = (diskId: string | undefined, sizeGb: number | undefined, lun: number, attach: Attach) => Promise<DiskSize>;

/** A disk's size and restore profile from its resource, or from the VM's own numbers when there is none. */
export function diskSizeOf(d: Disk | undefined, sizeGb: number | undefined, lun: number, attach: Attach): DiskSize {
  return { bytes: d?.diskSizeBytes ?? (d?.diskSizeGB ?? sizeGb ?? 0) * GIB, sku: d?.sku?.name, profile: d ? armDiskProfile(d, lun, attach) : undefined, dataAccessAuthMode: d?.dataAccessAuthMode };
}

type StorageProfile = NonNullable<VirtualMachine['storageProfile']>;

async function osDisk(sp: StorageProfile, size: DiskSizer): Promise<VmDisk | undefined> {
  if (!sp.osDisk?.managedDisk?.id) return undefined;
  // An ephemeral OS disk is no resource ARM can GET (ephemeral-os-disks.md): its size comes from the VM.
  const ephemeral = !!sp.osDisk.diffDiskSettings?.option;
  const s = ephemeral ? { bytes: (sp.osDisk.diskSizeGB ?? 0) * GIB } : await size(sp.osDisk.managedDisk.id, sp.osDisk.diskSizeGB, -1, sp.osDisk);
  return {
    lun: -1,
    diskId: sp.osDisk.managedDisk.id,
    name: sp.osDisk.name ?? parseResourceId(sp.osDisk.managedDisk.id).name,
    sizeBytes: s.bytes,
    sku: s.sku ?? sp.osDisk.managedDisk.storageAccountType,
    profile: s.profile ?? (sp.osDisk.writeAcceleratorEnabled ? { lun: -1, writeAcceleratorEnabled: true } : undefined),
    deleteOption: sp.osDisk.deleteOption,
    ...(ephemeral ? { ephemeral } : {}),
    ...(s.dataAccessAuthMode ? { dataAccessAuthMode: s.dataAccessAuthMode } : {}),
  };
}

async function vmDisks(sp: StorageProfile, size: DiskSizer): Promise<{ disks: VmDisk[]; unmanaged: NonNullable<VmInfo['unmanagedDisks']> }> {
  const os = await osDisk(sp, size);
  const disks: VmDisk[] = os ? [os] : [];
  const unmanaged: NonNullable<VmInfo['unmanagedDisks']> = [];
  // An unmanaged OS disk has a vhd uri and no managedDisk (VirtualMachine OSDisk.vhd).
  if (!sp.osDisk?.managedDisk?.id && sp.osDisk?.vhd?.uri) unmanaged.push({ lun: -1, name: sp.osDisk.name ?? 'osdisk', vhdUri: sp.osDisk.vhd.uri });
  for (const d of sp.dataDisks ?? []) {
    if (!d.managedDisk?.id) {
      if (d.vhd?.uri) unmanaged.push({ lun: d.lun, name: d.name ?? `disk${d.lun}`, vhdUri: d.vhd.uri });
      continue;
    }
    const s = await size(d.managedDisk.id, d.diskSizeGB, d.lun, d);
    disks.push({
      lun: d.lun,
      diskId: d.managedDisk.id,
      name: d.name ?? parseResourceId(d.managedDisk.id).name,
      sizeBytes: s.bytes,
      sku: s.sku ?? d.managedDisk.storageAccountType,
      profile: s.profile,
      deleteOption: d.deleteOption,
      ...(s.dataAccessAuthMode ? { dataAccessAuthMode: s.dataAccessAuthMode } : {}),
    });
  }
  return { disks, unmanaged };
}

/** The port's view of a VM: its disks (managed and unmanaged), power state and what a restore must match. */
export async function toVmInfo(vm: VirtualMachine, withView: VirtualMachine | undefined, size: DiskSizer): Promise<VmInfo> {
  const r = parseResourceId(vm.id!);
  const sp = vm.storageProfile ?? {};
  const { disks, unmanaged } = await vmDisks(sp, size);
  const statuses = withView?.instanceView?.statuses ?? [];
  const power = statuses.find((s) => s.code?.startsWith('PowerState/'))?.code?.slice('PowerState/'.length) as PowerState | undefined;
  const agent = withView?.instanceView?.vmAgent?.statuses?.some((s) => s.displayStatus === 'Ready') ?? false;
  return {
    id: vm.id!,
    name: vm.name!,
    resourceGroup: r.resourceGroup,
    subscriptionId: r.subscriptionId,
    location: vm.location,
    size: vm.hardwareProfile?.vmSize,
    osType: (sp.osDisk?.osType as OsType | undefined) ?? 'Linux',
    powerState: power ?? 'unknown',
    guestAgentReady: agent,
    tags: vm.tags ?? {},
    disks,
    zones: vm.zones?.length ? [...vm.zones] : undefined,
    securityType: vm.securityProfile?.securityType,
    provisioningState: vm.provisioningState,
    osCreateOption: sp.osDisk?.createOption,
    ephemeralOsDisk: !!sp.osDisk?.diffDiskSettings?.option,
    ...(unmanaged.length ? { unmanagedDisks: unmanaged } : {}),
  };
}
