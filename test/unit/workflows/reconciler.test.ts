import { describe, expect, it } from 'vitest';
import { QUEUES } from '../../../src/core/config';
import { backupNow } from '../../../src/core/workflows/protection/protection';
import { snapshotStep } from '../../../src/core/workflows/backup/plan';
import { reconcile } from '../../../src/core/jobs/reconciler';
import { getJob } from '../../../src/core/jobs/jobs';
import { failing, memoryDeps } from '../../support/memory-deps';
import type { MemoryCompute } from '../../../src/core/adapters/memory/compute';
import { finished, registeredVm } from '../../support/memory-fixtures';

const LEASE = 61_000; // just past the 60 s lock TTL of the fast settings

describe('reconciler (memory adapters)', () => {
  it('re-drives a backup whose snapshot message was lost, through its kind, to completion', async () => {
    const s = memoryDeps();
    const vm = await registeredVm(s);
    const job = await backupNow(s.deps, vm.itemKey);
    s.queues.drain(QUEUES.snapshot); // the message is lost
    expect((await reconcile(s.deps)).jobsRedriven).toBe(0); // younger than the lease: left alone
    s.clock.advance(LEASE);
    const r = await reconcile(s.deps);
    expect(r.jobsRedriven).toBe(1);
    expect(s.queues.sent.get(QUEUES.snapshot)).toHaveLength(1);
    await s.drain();
    expect((await finished(s, job.jobId)).params.redrives).toBe(1);
  });

  it('re-drives only the unfinished segments of a backup whose process died mid-copy', async () => {
    const s = memoryDeps();
    const vm = await registeredVm(s);
    const job = await backupNow(s.deps, vm.itemKey);
    s.queues.drain(QUEUES.snapshot);
    await snapshotStep(s.deps, { jobId: job.jobId });
    expect(s.queues.drain(QUEUES.copy)).toHaveLength(7); // the copy messages die with the process
    s.clock.advance(LEASE); // and its item lock runs out
    await reconcile(s.deps);
    expect(s.queues.sent.get(QUEUES.copy)).toHaveLength(7);
    await s.drain();
    await finished(s, job.jobId);
  });

  it('leaves a job alone while its item lock is held, and fails it as abandoned after five re-drives', async () => {
    const s = memoryDeps();
    const vm = await registeredVm(s);
    const job = await backupNow(s.deps, vm.itemKey);
    await s.deps.repos.items.update(vm.itemKey, (i) => {
      i.lockOwner = job.jobId;
      i.lockExpiresAt = new Date(s.clock.ms + 10 * LEASE);
    });
    s.clock.advance(LEASE);
    expect((await reconcile(s.deps)).jobsRedriven).toBe(0);
    s.clock.advance(10 * LEASE);
    for (let n = 0; n < 5; n++) {
      s.queues.drain(QUEUES.snapshot); // every re-drive is lost again
      expect((await reconcile(s.deps)).jobsRedriven).toBe(1);
    }
    expect((await reconcile(s.deps)).jobsAbandoned).toBe(1);
    const done = await getJob(s.deps, job.jobId);
    expect(done.status).toBe('Failed');
    expect(done.error!.code).toBe('JobAbandoned');
  });

  it('frees a lock whose owner job has finished or does not exist', async () => {
    const s = memoryDeps();
    const vm = await registeredVm(s);
    const job = await backupNow(s.deps, vm.itemKey);
    await s.drain();
    await finished(s, job.jobId);
    await s.deps.repos.items.update(vm.itemKey, (i) => {
      i.lockOwner = job.jobId;
      i.lockExpiresAt = new Date(s.clock.ms + 10 * LEASE);
    });
    expect((await reconcile(s.deps)).locksFreed).toBe(1);
    expect((await s.deps.repos.items.get(vm.itemKey))!.doc.lockOwner).toBeUndefined();
    await s.deps.repos.items.update(vm.itemKey, (i) => {
      i.lockOwner = 'gone';
      i.lockExpiresAt = new Date(s.clock.ms + 10 * LEASE);
    });
    expect((await reconcile(s.deps)).locksFreed).toBe(1);
  });

  it('deletes the source snapshots a failed backup could not delete in its cleanup (the sweep and orphan pass)', async () => {
    let compute: ReturnType<typeof failing<MemoryCompute>> | undefined;
    const s = memoryDeps({
      deps: (d) => ({
        store: failing(d.store, 'putPages', () => new Error('disk full')),
        compute: (compute = failing(d.compute as MemoryCompute, 'deleteSnapshot', () => Object.assign(new Error('busy'), { statusCode: 409 }))),
      }),
    });
    const vm = await registeredVm(s);
    const job = await backupNow(s.deps, vm.itemKey);
    await s.drain();
    await finished(s, job.jobId, 'Failed');
    expect(s.cloud.snapshots.size).toBe(2); // cleanup is best effort: its deletes failed
    compute!.left = 0;
    const r = await reconcile(s.deps);
    expect(r.snapshotsDeleted).toBe(2);
    expect(s.cloud.snapshots.size).toBe(0);
    expect(s.cloud.grants.size).toBe(0);
  });
});
