import { replaceRefused, type ReplaceRefusal } from '../../errors';
import type { ProtectedItem, RecoveryPoint } from '../../domain/model';
import type { DiskInfo, VmDisk, VmInfo } from '../../ports/compute';
import type { Deps } from '../../jobs/deps';
import { noGuestState, uploadProfile } from './profile';

/** What the checks need to know of a disk, read from ARM (a restored disk) or planned (at request time). */
export interface DiskFacts {
  name: string;
  /** The security type the source disk had, when the restored one will not have it. */
  lostSecurityType?: string;
  sizeBytes: number;
  sku?: string;
  zones?: string[];
  hyperVGeneration?: string;
  securityType?: string;
  diskEncryptionSetId?: string;
  state?: string;
  managedBy?: string;
}

/** One disk of the replace: what is at its LUN now (absent: a free LUN) and what goes there. */
export interface ReplacePair {
  lun: number;
  current?: VmDisk;
  next: DiskFacts & { diskId?: string };
}

type Fail = (code: ReplaceRefusal, message: string, action: string) => never;

const failer =
  (atRequest: boolean): Fail =>
  (code, message, action) => {
    throw replaceRefused(code, message, action, atRequest);
  };
const NEW_DISKS = 'Restore with mode newDisks instead and build or repair the VM from the restored disks.';
const same = (a?: string, b?: string): boolean => (a ?? '').toLowerCase() === (b ?? '').toLowerCase();

/**
 * Every rule Azure applies to the updates of a replace, checked before anything is touched, so a mismatch ends
 * the job (or the request) with the VM as it was. Sources: os-disk-swap.md (Linux and Windows: same size, same
 * disk encryption set, no ADE; "You don't need to stop the VM"), MicrosoftDocs/SupportArticles-docs#214 (Hyper-V
 * generation), ephemeral-os-disks.md (no OS disk swap), disks-redundancy.md and jrudlin/Azure#7 (zones), and the
 * VM model's provisioning state (an update while another runs answers 409 OperationNotAllowed).
 */
export function checkReplace(vm: VmInfo, pairs: ReplacePair[], atRequest: boolean): void {
  const fail = failer(atRequest);
  if (vm.provisioningState && vm.provisioningState.toLowerCase() !== 'succeeded') {
    fail(
      'ReplaceVmNotReady',
      `VM '${vm.name}' is in provisioning state '${vm.provisioningState}', so its disks cannot be replaced now.`,
      'Wait until the VM shows provisioning state Succeeded (or repair it with a redeploy), then restore again.',
    );
  }
  if (!['running', 'stopped', 'deallocated'].includes(vm.powerState)) {
    fail('ReplaceVmNotReady', `VM '${vm.name}' is ${vm.powerState}, so its disks cannot be replaced now.`, 'Wait until the VM is running, stopped or deallocated, then restore again.');
  }
  if (vm.ephemeralOsDisk) fail('ReplaceEphemeralOsDisk', `VM '${vm.name}' has an ephemeral OS disk, which Azure cannot swap.`, NEW_DISKS);
  const os = pairs.find((p) => p.lun < 0);
  if (!os?.current) fail('ReplaceNoOsDisk', `The recovery point or VM '${vm.name}' has no OS disk to swap.`, NEW_DISKS);
  for (const p of pairs) {
    if (p.next.state !== undefined && p.next.state !== 'Unattached') {
      fail(
        'ReplaceDiskStateInvalid',
        `The restored disk '${p.next.name}' is ${p.next.state}, not Unattached, so it cannot be attached to VM '${vm.name}'.`,
        'Detach the disk from wherever it is attached (or wait for its upload to end), then restore again.',
      );
    }
    const zone = vm.zones?.[0];
    if (zone && !/_zrs$/i.test(p.next.sku ?? '') && !(p.next.zones ?? []).includes(zone)) {
      fail(
        'ReplaceZoneMismatch',
        `The restored disk '${p.next.name}' is not in zone ${zone}, the zone of VM '${vm.name}', so Azure would refuse to attach it.`,
        'Restore from a point taken on this VM in this zone, or restore with mode newDisks into the zone you need.',
      );
    }
  }
  checkOsDisk(vm, os!.current!, os!.next, fail);
}

function checkOsDisk(vm: VmInfo, cur: VmDisk, next: DiskFacts, fail: Fail): void {
  const vmGen = cur.profile?.hyperVGeneration ?? 'V1';
  const diskGen = next.hyperVGeneration ?? 'V1';
  if (vmGen !== diskGen) {
    fail(
      'ReplaceGenerationMismatch',
      `The restored OS disk '${next.name}' is Hyper-V generation ${diskGen} but VM '${vm.name}' is ${vmGen}: Azure refuses the swap (PropertyChangeNotAllowed).`,
      "Restore a point taken while the VM had this generation, or restore with mode newDisks and create a VM of the disk's generation.",
    );
  }
  const vmSec = vm.securityType ?? 'Standard';
  const diskSec = next.securityType ?? 'Standard';
  if (!same(vmSec, diskSec)) {
    const why = next.lostSecurityType ? ` It loses security type ${next.lostSecurityType} in a copy from the vault: ${noGuestState(next.lostSecurityType)}.` : '';
    fail(
      'ReplaceSecurityTypeMismatch',
      `The restored OS disk '${next.name}' has security type ${diskSec} but VM '${vm.name}' is ${vmSec}: Azure refuses to swap it.${why}`,
      "Restore from the point's source snapshots while they exist (they keep the security type), or restore with mode newDisks.",
    );
  }
  if (!same(cur.profile?.diskEncryptionSetId, next.diskEncryptionSetId)) {
    fail(
      'ReplaceEncryptionSetMismatch',
      `The restored OS disk '${next.name}' does not use the disk encryption set of the current OS disk of VM '${vm.name}'; Azure swaps only disks of the same set.`,
      "Restore a point taken with the VM's current disk encryption set, or restore with mode newDisks.",
    );
  }
  if (next.sizeBytes !== cur.sizeBytes) {
    fail(
      'ReplaceSizeMismatch',
      `The restored OS disk '${next.name}' has ${next.sizeBytes} bytes and the current OS disk of VM '${vm.name}' ${cur.sizeBytes}: Azure swaps only OS disks of the same size.`,
      'Restore with mode newDisks, resize the restored OS disk to the current size, then swap it in; or restore a point taken after the last resize.',
    );
  }
}

/** The pairs of a replace at request time: the point's disks as the restore will create them, against the VM. */
export function plannedPairs(vm: VmInfo, item: ProtectedItem, point: RecoveryPoint): ReplacePair[] {
  return point.disks.map((d) => {
    const p = uploadProfile(d, item.osType).profile;
    const lost = d.profile?.securityType && d.profile.securityType !== 'Standard' && !p.securityType ? d.profile.securityType : undefined;
    const zonal = p.zones?.length && !/_zrs$/i.test(p.sku ?? '');
    return {
      lun: d.lun,
      current: vm.disks.find((x) => x.lun === d.lun),
      next: {
        name: d.name,
        lostSecurityType: lost,
        sizeBytes: d.sizeBytes,
        sku: p.sku,
        zones: zonal ? p.zones : undefined,
        hyperVGeneration: p.hyperVGeneration,
        securityType: p.securityType,
        diskEncryptionSetId: p.diskEncryptionSetId,
      },
    };
  });
}

/** Request-time check of a replaceDisks restore: a mismatch is a 409 before any disk is created. */
export async function precheckReplace(deps: Deps, item: ProtectedItem, point: RecoveryPoint): Promise<void> {
  const vm = await deps.compute.getVm(item.vmId);
  if (!vm) throw replaceRefused('ReplaceVmNotFound', `VM '${item.vmName}' no longer exists, so its disks cannot be replaced.`, NEW_DISKS, true);
  checkReplace(vm, plannedPairs(vm, item, point), true);
}

export function restoredFacts(info: DiskInfo): DiskFacts & { diskId: string } {
  return {
    diskId: info.id,
    name: info.name,
    sizeBytes: info.sizeBytes,
    sku: info.sku,
    zones: info.zones,
    hyperVGeneration: info.hyperVGeneration,
    securityType: info.securityType,
    diskEncryptionSetId: info.diskEncryptionSetId,
    state: info.state,
    managedBy: info.managedBy,
  };
}
