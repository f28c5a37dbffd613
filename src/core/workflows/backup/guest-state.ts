import { createHash } from 'node:crypto';
import { TransientError } from '../../errors';
import type { Job, RecoveryPointDisk } from '../../domain/model';
import type { Deps } from '../../jobs/deps';
import { guestStateBlob } from '../../store/layout';

/**
 * Trusted Launch disks are restored with their VM guest state (UEFI variables, vTPM), which lives beside the disk
 * and is read only through Grant Access with `getSecureVMGuestStateSAS: true`, answered as `securityDataAccessSAS`
 * (https://learn.microsoft.com/rest/api/compute/snapshots/grant-access, AccessUri). Confidential VM disks are left
 * out: their guest state is bound to keys a copy cannot carry, so a vault restore of them keeps refusing.
 */
export const carriesGuestState = (securityType: string | undefined): boolean => securityType === 'TrustedLaunch';

/** The point's disks with the guest state of each Trusted Launch disk copied from its source snapshot. */
export async function withGuestStates(deps: Deps, job: Job, disks: RecoveryPointDisk[]): Promise<RecoveryPointDisk[]> {
  const out: RecoveryPointDisk[] = [];
  for (const d of disks) out.push(carriesGuestState(d.profile?.securityType) ? await copyGuestState(deps, job, d) : d);
  return out;
}

async function copyGuestState(deps: Deps, job: Job, d: RecoveryPointDisk): Promise<RecoveryPointDisk> {
  const g = await deps.compute.grantGuestState(d.sourceSnapshotId, 'Read', deps.config.sasDurationSeconds);
  if (!g.securityDataAccessSAS) {
    throw new TransientError('GuestStateUnavailable', `Azure granted no VM guest state SAS for the snapshot of Trusted Launch disk '${d.name}'.`);
  }
  const data = await deps.dataPlane.openSource(g.securityDataAccessSAS).readAll();
  // Named by the point: a rerun of finalize writes the same bytes to the same blob.
  const blob = guestStateBlob(job.itemKey!, job.jobId, d.diskKey);
  await deps.store.putObject(blob, data);
  return { ...d, guestState: { blob, sizeBytes: data.length, sha256: createHash('sha256').update(data).digest('hex') } };
}
