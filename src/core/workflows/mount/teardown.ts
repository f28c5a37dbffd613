import type { Job } from '../../domain/model';
import type { Deps } from '../../jobs/deps';
import { getJob, isTerminal } from '../../jobs/jobs';
import { requestCancel } from '../../jobs/run-step';
import { restoredOf, targetsOf } from '../restore/plan';
import { mountOf, updateMount, type UnmountReason } from './plan';

/**
 * Takes a mount apart, whatever stage it reached, and can be run again at any time (unmount, a failed or
 * cancelled mount's cleanup, the reconciler's sweep, the deadline): a restore still running is cancelled (its
 * own cleanup deletes what it had not finished), the disks of the mount found on the helper VM are detached in
 * one update (a detach is a VM update that drops them from storageProfile.dataDisks: azure-docs
 * articles/virtual-machines/windows/detach-disk.md), then every disk the restore made is deleted (Azure refuses
 * to delete an attached disk, so the detach comes first). The mount is recorded Unmounted once nothing is left.
 */
export async function teardown(deps: Deps, job: Job, reason: UnmountReason): Promise<void> {
  const m = mountOf(job);
  const child = m.restoreJobId ? await getJob(deps, m.restoreJobId).catch(() => undefined) : undefined;
  if (child && !isTerminal(child) && !child.cancelRequested) await requestCancel(deps, child.jobId).catch(() => undefined);
  const ours = new Set([...(m.disks ?? []).map((d) => d.diskId), ...(child ? restoredOf(child).map((d) => d.diskId) : [])].map((id) => id.toLowerCase()));
  const vm = await deps.compute.getVm(m.helperVmId);
  const luns = (vm?.disks ?? []).filter((d) => d.lun >= 0 && ours.has(d.diskId.toLowerCase())).map((d) => d.lun);
  if (luns.length > 0) await deps.compute.detachDataDisks(m.helperVmId, luns);
  for (const id of ours) await deps.compute.deleteDisk(id);
  // A restore that is still stopping may yet seal a disk: the sweep of this job comes back for it.
  const settled = !child || isTerminal(await getJob(deps, child.jobId));
  await updateMount(deps, job.jobId, (x) => {
    if (x.state === 'Unmounted' || !settled) return false;
    x.state = 'Unmounted';
    x.unmountedAt = deps.clock().toISOString();
    x.unmountReason = reason;
  });
  if (child && !isTerminal(child)) deps.log.info('mount teardown waits for its restore to stop', { jobId: job.jobId, restoreJobId: child.jobId, targets: targetsOf(child)?.length ?? 0 });
}
