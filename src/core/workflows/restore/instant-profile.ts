import type { DiskRestoreProfile, OsType, RecoveryPointDisk } from '../../domain/model';

/** Azure caps a resource at 50 tags (azure-resource-manager management/tag-resources.md); one is the restore's own. */
const MAX_SOURCE_TAGS = 49;

/**
 * The profile a disk created from its source snapshot gets. Unlike an upload (profile.ts), a Copy keeps every
 * SKU: Premium SSD v2 and Ultra disks are created from their incremental snapshots once the background copy is
 * done (azure-compute-docs articles/virtual-machines/disks-incremental-snapshots.md), and Azure Backup's
 * Enhanced policy restores them from that tier (backup-instant-restore-capability.md). The security type stays
 * too: the snapshot holds the VM guest state. OS type and generation are OS-disk properties (disk.json).
 */
export function copyProfile(disk: RecoveryPointDisk, itemOsType: OsType): { profile: DiskRestoreProfile; sku?: string; osType?: OsType } {
  const p: DiskRestoreProfile = { ...(disk.profile ?? { lun: disk.lun }) };
  p.sku ??= disk.sku;
  if (disk.lun >= 0) {
    delete p.osType;
    delete p.hyperVGeneration;
  } else {
    p.osType ??= itemOsType;
  }
  const tags = Object.entries(p.tags ?? {}).slice(0, MAX_SOURCE_TAGS);
  p.tags = tags.length ? Object.fromEntries(tags) : undefined;
  return { profile: p, sku: p.sku, osType: p.osType };
}
