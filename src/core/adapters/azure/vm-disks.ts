import type { ComputeManagementClient, DataDisk, OSDisk, VirtualMachine } from '@azure/arm-compute';
import { parseResourceId, type DataDiskAttachment } from '../../ports/compute';

type Lro = { updateIntervalInMs?: number };

/**
 * The VM updates of a disk replace, each one PATCH built from a fresh GET of the VM, the way Set-AzVMOSDisk /
 * Remove-AzVMDataDisk / Add-AzVMDataDisk followed by Update-AzVM do it (azure-compute-docs
 * articles/virtual-machines/windows/os-disk-swap.md, linux/os-disk-swap.md, windows/detach-disk.md,
 * windows/attach-disk-ps.md). What Azure rejects, and therefore is never sent: a changed `osDisk.createOption`
 * (409 PropertyChangeNotAllowed, Azure/azure-sdk-for-net#37285) and a new `managedDisk.id` at a LUN that already
 * holds a disk (Azure/azure-sdk-for-java#2925): such a disk is detached in one update and attached in the next.
 */
async function current(c: ComputeManagementClient, vmId: string): Promise<{ rg: string; name: string; vm: VirtualMachine }> {
  const r = parseResourceId(vmId);
  return { rg: r.resourceGroup, name: r.name, vm: await c.virtualMachines.get(r.resourceGroup, r.name) };
}

/** A data disk entry sent back as the VM reported it: only what identifies it and the attachment's settings. */
function keep(d: DataDisk): DataDisk {
  return {
    lun: d.lun,
    name: d.name,
    createOption: d.createOption,
    caching: d.caching,
    writeAcceleratorEnabled: d.writeAcceleratorEnabled,
    deleteOption: d.deleteOption,
    ...(d.managedDisk?.id ? { managedDisk: { id: d.managedDisk.id } } : {}),
    ...(d.vhd ? { vhd: d.vhd } : {}),
  };
}

export async function swapOsDisk(c: ComputeManagementClient, vmId: string, disk: { diskId: string; name: string }, lro: Lro): Promise<void> {
  const { rg, name, vm } = await current(c, vmId);
  const os = vm.storageProfile?.osDisk;
  if (!os) throw new Error(`VM ${vmId} reports no OS disk`);
  // The OS disk as the VM reports it, createOption included (never changed); only the disk id and its name are
  // new. The old disk's size and storage type are not sent: they belong to the disk being swapped out.
  const osDisk: OSDisk = {
    osType: os.osType,
    createOption: os.createOption,
    caching: os.caching,
    writeAcceleratorEnabled: os.writeAcceleratorEnabled,
    deleteOption: os.deleteOption,
    name: disk.name,
    managedDisk: { id: disk.diskId },
  };
  await c.virtualMachines.beginUpdateAndWait(rg, name, { storageProfile: { osDisk } }, lro);
}

export async function detachDataDisks(c: ComputeManagementClient, vmId: string, luns: number[], lro: Lro): Promise<void> {
  const { rg, name, vm } = await current(c, vmId);
  const all = vm.storageProfile?.dataDisks ?? [];
  if (!all.some((d) => luns.includes(d.lun))) return;
  await c.virtualMachines.beginUpdateAndWait(rg, name, { storageProfile: { dataDisks: all.filter((d) => !luns.includes(d.lun)).map(keep) } }, lro);
}

export async function attachDataDisks(c: ComputeManagementClient, vmId: string, disks: DataDiskAttachment[], lro: Lro): Promise<void> {
  const { rg, name, vm } = await current(c, vmId);
  const all = vm.storageProfile?.dataDisks ?? [];
  const added = disks.filter((d) => !all.some((x) => x.lun === d.lun && x.managedDisk?.id?.toLowerCase() === d.diskId.toLowerCase()));
  if (added.length === 0) return;
  const entries: DataDisk[] = added.map((d) => ({
    lun: d.lun,
    name: parseResourceId(d.diskId).name,
    createOption: 'Attach',
    managedDisk: { id: d.diskId },
    ...(d.caching ? { caching: d.caching as DataDisk['caching'] } : {}),
    ...(d.writeAcceleratorEnabled !== undefined ? { writeAcceleratorEnabled: d.writeAcceleratorEnabled } : {}),
    ...(d.deleteOption ? { deleteOption: d.deleteOption } : {}),
  }));
  await c.virtualMachines.beginUpdateAndWait(rg, name, { storageProfile: { dataDisks: [...all.map(keep), ...entries] } }, lro);
}
