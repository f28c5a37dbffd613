import { ConflictError, NotFoundError } from '../../errors';
import type { ProtectedItem, RecoveryPoint, RecoveryPointDisk } from '../../domain/model';
import type { VmInfo } from '../../ports/compute';
import type { MountedDisk } from './plan';
import type { Deps } from '../../jobs/deps';

/** The VM model's LUN range: "LUN … is invalid; use 0-63" (64 LUNs whatever the size). */
const LUNS = 64;

/**
 * The data disks the helper's size takes: Resource SKUs' `MaxDataDiskCount` (the same list a new-VM restore reads
 * for sizes and zones). Azure refuses more with 409 OperationNotAllowed "The maximum number of data disks allowed
 * to be attached to a VM of this size is N" (kubernetes-sigs/azuredisk-csi-driver#2883). Without that answer the
 * 64 LUNs are the check, and Azure's own refusal at attach ends the job with nothing left attached.
 */
export async function helperDiskLimit(deps: Deps, vm: VmInfo | undefined): Promise<number> {
  if (!vm?.size || !deps.provisioning) return LUNS;
  const offer = await deps.provisioning.vmSizeOffer(vm.subscriptionId, vm.location, vm.size).catch(() => undefined);
  return Math.min(LUNS, offer?.maxDataDisks ?? LUNS);
}

const refuse = (code: string, message: string, action: string): never => {
  throw new ConflictError(code, message, action);
};
const same = (a?: string, b?: string): boolean => (a ?? '').toLowerCase() === (b ?? '').toLowerCase();

/** The zone a disk of the point is restored into: its recorded zone unless it is zone-redundant (ZRS). */
export function diskZone(d: RecoveryPointDisk): string | undefined {
  const sku = d.profile?.sku ?? d.sku ?? '';
  return /_zrs$/i.test(sku) ? undefined : d.profile?.zones?.[0];
}

/** The LUNs free on the VM now, lowest first (managed and unmanaged data disks both hold a LUN). */
export function freeLuns(vm: VmInfo, maxDataDisks: number): number[] {
  const used = new Set([...vm.disks.filter((d) => d.lun >= 0).map((d) => d.lun), ...(vm.unmanagedDisks ?? []).map((d) => d.lun)]);
  const room = maxDataDisks - used.size;
  return [...Array(LUNS).keys()].filter((l) => !used.has(l)).slice(0, Math.max(0, room));
}

/**
 * Every rule Azure applies to attaching the point's disks to the helper VM, checked before anything is created:
 * the VM in a state that takes an update, in the region the disks are restored to, in the zone of every zonal
 * disk (a zonal VM takes only disks of its zone or ZRS ones, and a regional VM no zonal disk: disks-redundancy.md,
 * Azure/azure-sdk-for-net#39112), and with a free LUN per disk within its size's limit.
 */
export function checkHelper(vm: VmInfo | undefined, helperVmId: string, item: ProtectedItem, point: RecoveryPoint, maxDataDisks: number): void {
  if (!vm) throw new NotFoundError('HelperVmNotFound', `The helper VM '${helperVmId}' was not found.`, 'Pass the full resource id of an existing VM in a subscription the app can read.');
  if (vm.provisioningState && !same(vm.provisioningState, 'Succeeded')) {
    refuse(
      'HelperVmNotReady',
      `The helper VM '${vm.name}' is in provisioning state '${vm.provisioningState}', so disks cannot be attached to it now.`,
      'Wait until the VM shows provisioning state Succeeded, then mount again.',
    );
  }
  // Stopped (allocated) and deallocated VMs take data disks; a VM between states answers 409 to any update.
  if (!['running', 'stopped', 'deallocated'].includes(vm.powerState)) {
    refuse('HelperVmNotReady', `The helper VM '${vm.name}' is ${vm.powerState}, so disks cannot be attached to it now.`, 'Wait until the VM is running or stopped, then mount again.');
  }
  if (!same(vm.location, item.location)) {
    refuse(
      'MountRegionMismatch',
      `The helper VM '${vm.name}' is in region ${vm.location} and the point's disks are restored in ${item.location}; Azure attaches disks of the VM's region only.`,
      `Choose a helper VM in ${item.location}.`,
    );
  }
  const vmZone = vm.zones?.[0];
  for (const d of point.disks) {
    const z = diskZone(d);
    if ((z ?? '') !== (vmZone ?? '')) {
      refuse(
        'MountZoneMismatch',
        `Disk '${d.name}' is restored ${z ? `in zone ${z}` : 'without a zone'} and the helper VM '${vm.name}' is ${vmZone ? `in zone ${vmZone}` : 'not zonal'}; Azure would refuse to attach it.`,
        z ? `Choose a helper VM in zone ${z} of ${item.location}.` : 'Choose a helper VM that is not pinned to a zone.',
      );
    }
  }
  const free = freeLuns(vm, maxDataDisks).length;
  if (free < point.disks.length) {
    refuse(
      'MountNotEnoughLuns',
      `The helper VM '${vm.name}' (${vm.size ?? 'unknown size'}) can take ${free} more data disk(s) and the point has ${point.disks.length}.`,
      'Detach disks from the helper VM, resize it to a size with more data disks, or choose another VM.',
    );
  }
}

/**
 * Host caching for the attachment: ReadOnly, except where Azure allows None only: Ultra Disks "don't support
 * disk caching" (includes/managed-disks-ultra-disks-GA-scope-and-limitations.md), Premium SSD v2 neither
 * (disks-types.md); disks of 4 TiB and more get None too, as host caching is offered below 4 TiB only
 * (premium-storage-performance.md; not modelled by the emulator).
 */
export function cachingFor(disk: { sku?: string; sizeBytes: number }): MountedDisk['caching'] {
  return /^(UltraSSD_LRS|PremiumV2_LRS)$/i.test(disk.sku ?? '') || disk.sizeBytes >= 4 * 1024 ** 4 ? 'None' : 'ReadOnly';
}
