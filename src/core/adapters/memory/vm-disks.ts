import type { DataDiskAttachment } from '../../ports/compute';
import type { CloudDisk, CloudVm, MemoryCloud } from './cloud';
import { MemoryServiceError } from './pages';

/**
 * The VM updates of a disk replace on a MemoryCloud, with the checks Microsoft.Compute makes (the compute
 * emulator's vm-model.ts models the same, with the same sources):
 * - a data disk's `managedDisk.id` cannot change at a LUN in one update (409 PropertyChangeNotAllowed,
 *   Azure/azure-sdk-for-java#2925): the old disk is detached first, and an attach at a LUN in use is a LUN used twice;
 * - a zonal VM takes disks of its zone or ZRS disks (disks-redundancy.md; jrudlin/Azure#7, 400 BadRequest);
 * - an OS disk swap needs no stopped VM ("You don't need to stop the VM", linux/os-disk-swap.md), but the same
 *   Hyper-V generation (MicrosoftDocs/SupportArticles-docs#214), security type, disk encryption set and size
 *   (os-disk-swap.md);
 * - a disk attached elsewhere (409 Conflict) or still in upload state (409 OperationNotAllowed) is refused.
 */
const conflict = (code: string, message: string): MemoryServiceError => new MemoryServiceError(409, code, message);

function usable(cloud: MemoryCloud, vm: CloudVm, diskId: string): CloudDisk {
  const d = cloud.requireDisk(diskId);
  if (d.managedBy && d.managedBy.toLowerCase() !== vm.id.toLowerCase()) throw conflict('Conflict', `Disk '${d.name}' is already attached to VM '${d.managedBy}'.`);
  if (d.state === 'ReadyToUpload' || d.state === 'ActiveUpload') throw conflict('OperationNotAllowed', `Disk '${d.name}' is still in upload state.`);
  if (vm.zones?.length && !/_zrs$/i.test(d.sku) && !(d.zones ?? []).includes(vm.zones[0]!)) {
    throw new MemoryServiceError(400, 'BadRequest', `Disk ${d.id} cannot be attached to the VM because it is not in zone '${vm.zones[0]}'.`);
  }
  return d;
}

export function swapOsDisk(cloud: MemoryCloud, vmId: string, diskId: string): void {
  const vm = cloud.requireVm(vmId);
  if (vm.osDiskId.toLowerCase() === diskId.toLowerCase()) return;
  const next = usable(cloud, vm, diskId);
  const cur = cloud.requireDisk(vm.osDiskId);
  const gen = (d: CloudDisk): string => d.hyperVGeneration ?? 'V1';
  if (gen(cur) !== gen(next))
    throw conflict(
      'PropertyChangeNotAllowed',
      `Swapping OS Disk is not supported since HyperVisor property on the OSDisk and VM do not match. Please make sure the HyperVisor property on the OSDisk is HyperVisor Generation '${gen(cur)}'`,
    );
  if ((vm.securityType ?? 'Standard') !== (next.securityType ?? 'Standard'))
    throw conflict('PropertyChangeNotAllowed', `Swapping OS Disk is not supported since the security type of the OS disk and the VM do not match.`);
  if ((cur.diskEncryptionSetId ?? '').toLowerCase() !== (next.diskEncryptionSetId ?? '').toLowerCase())
    throw conflict('OperationNotAllowed', 'Swapping OS Disk is not supported since the disks do not use the same disk encryption set.');
  if (cur.sizeBytes !== next.sizeBytes) throw conflict('OperationNotAllowed', `Swapping OS Disk is not supported since the OS disk '${next.name}' and the current OS disk are not the same size.`);
  cur.managedBy = undefined;
  cur.state = 'Unattached';
  next.managedBy = vm.id;
  next.state = 'Attached';
  vm.osDiskId = next.id;
}

export function detachDataDisks(cloud: MemoryCloud, vmId: string, luns: number[]): void {
  const vm = cloud.requireVm(vmId);
  for (const a of vm.dataDisks.filter((x) => luns.includes(x.lun))) {
    const d = cloud.disk(a.diskId);
    if (d) {
      d.managedBy = undefined;
      d.state = 'Unattached';
    }
  }
  vm.dataDisks = vm.dataDisks.filter((x) => !luns.includes(x.lun));
}

export function attachDataDisks(cloud: MemoryCloud, vmId: string, disks: DataDiskAttachment[]): void {
  const vm = cloud.requireVm(vmId);
  const fresh = disks.filter((d) => !vm.dataDisks.some((x) => x.lun === d.lun && x.diskId.toLowerCase() === d.diskId.toLowerCase()));
  const luns = new Set<number>();
  for (const d of fresh) {
    if (!Number.isInteger(d.lun) || d.lun < 0 || d.lun > 63 || luns.has(d.lun)) throw new MemoryServiceError(400, 'InvalidParameter', `LUN ${d.lun} is invalid or used twice.`);
    luns.add(d.lun);
    // The update lists the disk already there and the new one at the same LUN: refused as a duplicate LUN.
    if (vm.dataDisks.some((x) => x.lun === d.lun)) throw new MemoryServiceError(400, 'InvalidParameter', `LUN ${d.lun} is used twice.`);
  }
  const attached = fresh.map((d) => ({ a: d, disk: usable(cloud, vm, d.diskId) }));
  for (const { a, disk } of attached) {
    disk.managedBy = vm.id;
    disk.state = 'Attached';
    vm.dataDisks.push({ lun: a.lun, diskId: disk.id, caching: a.caching, writeAcceleratorEnabled: a.writeAcceleratorEnabled, deleteOption: a.deleteOption });
  }
  vm.dataDisks.sort((x, y) => x.lun - y.lun);
}
