import { describe, expect, it } from 'vitest';
import { heldByOther, leaseWaitSeconds, releaseLease, takeLease } from '../../../src/core/jobs/job-lease';
import { createJob, getJob } from '../../../src/core/jobs/jobs';
import { backupNow } from '../../../src/core/workflows/protection/protection';
import { requestRestore } from '../../../src/core/workflows/restore/restore';
import { memoryDeps } from '../../support/memory-deps';
import { finished, registeredVm } from '../../support/memory-fixtures';

describe('job leases (memory adapters)', () => {
  it('holds a lease for its owner until it runs out, and waits between the bounds', async () => {
    const s = memoryDeps();
    const { job } = await createJob(s.deps, { type: 'Backup', itemKey: 'i' });
    const now = s.clock.ms;
    expect(heldByOther(job, 'planner', 'a', now)).toBe(false);
    takeLease(job, 'planner', 'a', now, 30_000);
    expect(heldByOther(job, 'planner', 'a', now)).toBe(false); // the owner itself
    expect(heldByOther(job, 'planner', 'b', now + 29_999)).toBe(true);
    expect(heldByOther(job, 'planner', 'b', now + 30_000)).toBe(false); // ran out
    expect(heldByOther(job, 'runner', 'b', now)).toBe(false); // leases are independent
    expect(leaseWaitSeconds(job, 'planner', now, 5, 15)).toBe(15);
    expect(leaseWaitSeconds(job, 'planner', now + 20_000, 5, 15)).toBe(10);
    expect(leaseWaitSeconds(job, 'planner', now + 29_000, 5, 15)).toBe(5);
  });

  it('gives a lease back only to its owner', async () => {
    const s = memoryDeps();
    const { job } = await createJob(s.deps, { type: 'Backup', itemKey: 'i' });
    await s.deps.repos.jobs.update(job.jobId, (j) => takeLease(j, 'runner', 'a', s.clock.ms, 30_000));
    await releaseLease(s.deps, job.jobId, 'runner', 'b');
    expect((await getJob(s.deps, job.jobId)).leases?.runner?.holder).toBe('a');
    await releaseLease(s.deps, job.jobId, 'runner', 'a');
    const released = await getJob(s.deps, job.jobId);
    expect(released.leases).toBeUndefined();
    expect(released.params).toEqual({});
  });

  it('makes a duplicate restore delivery wait for the running one instead of restoring twice', async () => {
    const s = memoryDeps();
    const vm = await registeredVm(s);
    const b = await backupNow(s.deps, vm.itemKey);
    await s.drain();
    await finished(s, b.jobId);
    const job = await requestRestore(s.deps, { itemKey: vm.itemKey, pointId: b.jobId, mode: 'newDisks', source: 'vault' });
    await s.drain({ duplicate: true });
    await finished(s, job.jobId);
    const uploads = [...s.cloud.disks.values()].filter((d) => d.tags['vmbackup-restore-job'] === job.jobId);
    expect(uploads).toHaveLength(2); // one disk per recovery-point disk, not one per delivery
    expect(uploads.every((d) => d.state === 'Unattached')).toBe(true);
  });
  // A restore no longer holds a runner lease: its segments are idempotent by their rows, so a dead delivery
  // only delays its own segment (restore-segmented.test.ts kills deliveries at random points).
});
