import { createHash } from 'node:crypto';
import { PermanentStepError } from '../../errors';
import type { GuestStateCopy } from '../../domain/model';
import { MAX_PUT_PAGE } from '../../domain/ranges';
import type { Deps } from '../../jobs/deps';
import type { RestoreTarget } from './plan';

/**
 * Writes the point's VM guest state into an UploadPreparedSecure disk before its upload ends: Grant Access Write
 * with `getSecureVMGuestStateSAS: true` answers the disk's `accessSAS` and `securityDataAccessSAS`, and the guest
 * state is put through the latter as page-blob pages, like the disk's data (DiskCreateOption.UploadPreparedSecure:
 * "upload using write token in disk, VM guest state and VM metadata"; Disks - Grant Access,
 * https://learn.microsoft.com/rest/api/compute/disks/grant-access). Revoking access, which seals the data, ends it.
 * The copy is checked against the digest recorded at backup first: a changed copy is never uploaded.
 */
export async function uploadGuestState(deps: Deps, t: RestoreTarget, copy: GuestStateCopy): Promise<void> {
  const data = await deps.store.getObject(copy.blob);
  if (!data || data.length !== copy.sizeBytes || createHash('sha256').update(data).digest('hex') !== copy.sha256) {
    throw new PermanentStepError(
      'RecoveryPointCorrupt',
      `The VM guest state of disk '${t.name}' is missing from the backup storage or does not match its digest.`,
      "Restore another recovery point, or restore from this point's source snapshots while they exist.",
    );
  }
  const g = await deps.compute.grantGuestState(t.diskId, 'Write', deps.config.sasDurationSeconds);
  if (!g.securityDataAccessSAS) {
    throw new PermanentStepError(
      'GuestStateUploadRefused',
      `Azure granted no VM guest state SAS for the restored disk '${t.name}'.`,
      "Restore again; if it persists, restore from the point's source snapshots.",
    );
  }
  const target = deps.dataPlane.openTarget(g.securityDataAccessSAS);
  for (let o = 0; o < data.length; o += MAX_PUT_PAGE) await target.putPages(o, data.subarray(o, Math.min(data.length, o + MAX_PUT_PAGE)));
}
