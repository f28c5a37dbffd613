import type { DiskRestoreProfile, Job, OsType, RecoveryPointDisk } from '../../domain/model';
import type { VmDisk } from '../../ports/compute';
import type { Deps } from '../../jobs/deps';
import { diskKeyFor } from '../../store/layout';

/** Azure caps a resource at 50 tags (azure-resource-manager management/tag-resources.md); one is the restore's own. */
const MAX_SOURCE_TAGS = 49;

/** What a restore needs to know of one disk of the VM, as the compute port read it (AZURE-FIDELITY B4, M6). */
export function diskRestoreProfile(d: VmDisk): DiskRestoreProfile {
  return { ...d.profile, sku: d.profile?.sku ?? d.sku, lun: d.lun };
}

/**
 * The points's disks with their restore profiles, read from the VM when the backup finalizes. A disk swapped
 * out behind a LUN since the snapshot gets none (its settings would be another disk's); no VM, no profiles.
 */
export async function withRestoreProfiles(deps: Deps, job: Job, disks: RecoveryPointDisk[]): Promise<RecoveryPointDisk[]> {
  const item = job.itemKey ? (await deps.repos.items.get(job.itemKey))?.doc : undefined;
  const vm = item ? await deps.compute.getVm(item.vmId) : undefined;
  if (!vm) return disks;
  return disks.map((d) => {
    const planned = job.plan?.find((p) => p.diskKey === d.diskKey);
    const now = vm.disks.find((x) => diskKeyFor(x.lun) === d.diskKey);
    if (!now || !planned || now.diskId.toLowerCase() !== planned.diskId.toLowerCase()) return d;
    const profile = diskRestoreProfile(now);
    return { ...d, profile, sku: d.sku ?? profile.sku };
  });
}

/** Ultra disks "can only be created as an empty disk" (azure-compute-docs articles/virtual-machines/disks-types.md). */
const NOT_UPLOADABLE: Record<string, string> = { UltraSSD_LRS: 'Premium_LRS' };

/**
 * The profile the upload disk is created with, and what could not be kept. OS type and Hyper-V generation are
 * OS-disk properties ("Applicable to OS disks only", disk.json hyperVGeneration); a point recorded before
 * profiles existed keeps the item's OS type as before, and Azure's defaults for the rest.
 */
export function uploadProfile(disk: RecoveryPointDisk, itemOsType: OsType): { profile: DiskRestoreProfile; sku?: string; osType?: OsType; secure?: boolean; warnings: string[] } {
  const p: DiskRestoreProfile = { ...(disk.profile ?? { lun: disk.lun }) };
  const warnings: string[] = [];
  const sku = p.sku ?? disk.sku;
  const mapped = sku ? NOT_UPLOADABLE[sku] : undefined;
  if (mapped) warnings.push(`Disk '${disk.name}' was ${sku}, which Azure cannot create by upload; it is restored as ${mapped}.`);
  p.sku = mapped ?? sku;
  if (disk.lun >= 0) {
    delete p.osType;
    delete p.hyperVGeneration;
  } else {
    p.osType ??= itemOsType;
  }
  // A Trusted Launch disk whose guest state the point holds is uploaded with it (UploadPreparedSecure).
  const secure = p.securityType === 'TrustedLaunch' && !!disk.guestState;
  if (p.securityType && p.securityType !== 'Standard' && !secure) {
    warnings.push(`Disk '${disk.name}' had security type ${p.securityType}; ${noGuestState(p.securityType)}, so it is restored without it.`);
    delete p.securityType;
  }
  const tags = Object.entries(p.tags ?? {}).slice(0, MAX_SOURCE_TAGS);
  p.tags = tags.length ? Object.fromEntries(tags) : undefined;
  return { profile: p, sku: p.sku, osType: p.osType, secure: secure || undefined, warnings };
}

/** Why a vault copy of a disk has no VM guest state to restore it with. */
export function noGuestState(securityType: string): string {
  return securityType.startsWith('ConfidentialVM')
    ? 'a Confidential VM guest state is bound to keys that a copy cannot carry'
    : 'the recovery point holds no copy of its VM guest state (it was taken before vmbackup kept them)';
}
