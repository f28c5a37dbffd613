import type { Job } from '../domain/model';
import type { Deps } from './deps';

/**
 * The source snapshots a job took (its plan): their SAS revoked and, when the job has just failed, the diff
 * base's SAS too and the snapshots deleted, since no recovery point will refer to them. The reconciler's later
 * sweep revokes only the job's own snapshots: by then the base may serve another job. Idempotent.
 */
export async function releaseJobSnapshots(deps: Deps, job: Job, mode: 'failed' | 'sweep'): Promise<void> {
  for (const d of job.plan ?? []) {
    await deps.compute.revokeSnapshot(d.snapshotId);
    if (mode === 'sweep') continue;
    if (d.baseSnapshotId) await deps.compute.revokeSnapshot(d.baseSnapshotId);
    await deps.compute.deleteSnapshot(d.snapshotId);
  }
}
