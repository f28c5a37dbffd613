import type { OsType } from '../../domain/model';
import type { MountedDisk } from './plan';

/**
 * How to read the files on the helper VM. Host caching ReadOnly is a cache mode, not write protection: the guest
 * could still write to the disks, so the commands mount read-only in the guest. Linux: the Azure udev rules link
 * data disks as /dev/disk/azure/scsi1/lun<N> and their partitions as -part<M> (azure-docs articles/
 * virtual-machines/linux/azure-to-guest-disk-mapping.md, troubleshoot-device-names-problems.md). Windows: a disk
 * attached to a running VM comes up offline when the SAN policy says so (Disk Management, or Set-Disk).
 */
export function readCommands(osType: OsType | undefined, disks: MountedDisk[]): string[] {
  if (osType === 'Windows') {
    return [
      'Get-Disk | Where-Object Location -Match "LUN (' + disks.map((d) => d.lun).join('|') + ')\\b" | Format-Table Number, Location, Size, OperationalStatus',
      ...disks.map((d) => `# LUN ${d.lun} holds '${d.sourceName}': Get-Disk | Where-Object Location -Match "LUN ${d.lun}\\b" | Set-Disk -IsOffline $false -IsReadOnly $true`),
      '# then browse the volumes in Explorer or Disk Management (diskmgmt.msc); bring the disks offline again before unmount: Set-Disk -IsOffline $true',
    ];
  }
  return [
    'lsblk -o NAME,SIZE,FSTYPE,LABEL /dev/disk/azure/scsi1/*',
    '# for each disk, the partition lsblk shows (-partM); xfs needs -o ro,nouuid, LVM volumes vgimportclone first',
    ...disks.map((d) => `sudo mkdir -p /mnt/${d.diskKey} && sudo mount -o ro /dev/disk/azure/scsi1/lun${d.lun}-part1 /mnt/${d.diskKey}   # ${d.sourceName}`),
    '# before unmount: sudo umount /mnt/<disk>',
  ];
}
