import type { Job } from '../../domain/model';
import type { DataDiskAttachment, VmInfo } from '../../ports/compute';
import type { Deps } from '../../jobs/deps';
import { diskKeyFor, TAGS } from '../../store/layout';
import { paramsOf } from '../../jobs/params';
import { restoreParams } from './params';

/**
 * The undo record of a replace, on the job's result (`result.undo`): the VM's disks as they were, which the
 * replace keeps (detached, never deleted), and an incremental snapshot of each taken before the VM was touched,
 * in case those disks are later changed or deleted. To undo: swap the original OS disk back and re-attach the
 * original data disks at their LUNs (the same calls the replace makes), or create disks from the snapshots
 * (`createOption: Copy`, which keeps the OS disk's generation and security type) and swap those in.
 *
 * It is not a recovery point of this app: a point's data lives in the backup storage, and copying the whole VM
 * there first would make every replace as slow as a full backup. The snapshots are tagged with the restore job
 * only (not with the item or a backup job), so neither retention nor the reconciler's orphan sweep deletes them;
 * they are the operator's to delete once the replace is confirmed.
 */
export interface UndoRecord {
  takenAt: string;
  osDisk: { diskId: string; name: string };
  dataDisks: DataDiskAttachment[];
  snapshots: { lun: number; diskId: string; snapshotId: string }[];
  howTo: string;
}

export const undoSnapshotName = (job: Job, vmName: string, lun: number): string => `${vmName}-${diskKeyFor(lun)}-undo${job.jobId.slice(-8)}`.slice(0, 80);

/** Snapshots of the disks a replace takes off the VM; idempotent by name, so a redelivery takes none twice. */
export async function takeUndoSnapshots(deps: Deps, job: Job, vm: VmInfo, original: { os: { diskId: string; name: string }; data: DataDiskAttachment[] }): Promise<UndoRecord> {
  const disks = [{ lun: -1, diskId: original.os.diskId }, ...original.data.map((d) => ({ lun: d.lun, diskId: d.diskId }))];
  const snapshots: UndoRecord['snapshots'] = [];
  for (const d of disks) {
    const s = await deps.compute.createIncrementalSnapshot({
      diskId: d.diskId,
      resourceGroup: paramsOf(job, restoreParams).targetResourceGroup,
      name: undoSnapshotName(job, vm.name, d.lun),
      location: vm.location,
      tags: { [TAGS.restoreJob]: job.jobId },
    });
    snapshots.push({ lun: d.lun, diskId: d.diskId, snapshotId: s.id });
  }
  return {
    takenAt: deps.clock().toISOString(),
    osDisk: original.os,
    dataDisks: original.data,
    snapshots,
    howTo:
      'The original disks are kept, detached. To undo, swap the original OS disk back and attach the original data disks at their LUNs; if they were changed or deleted since, create disks from these snapshots and swap those in.',
  };
}
