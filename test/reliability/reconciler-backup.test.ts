import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { QueueServiceClient } from '@azure/storage-queue';
import { startAppStack, type AppStack } from '../support/app-stack';
import { SUB } from '../support/emulator';
import { backupNow, requestRegistration } from '../../src/core/workflows/protection/protection';
import { snapshotStep } from '../../src/core/workflows/backup/plan';
import { copyStep } from '../../src/core/workflows/backup/copy';
import { reconcile } from '../../src/core/jobs/reconciler';
import { getJob } from '../../src/core/jobs/jobs';
import type { Deps } from '../../src/core/jobs/deps';
import { EmulatorState } from '../../src/emulator/arm/state';
import { fill } from '../../src/emulator/guest';
import { itemKeyFor } from '../../src/core/store/layout';
import { KINDS } from '../../src/core/workflows/kinds';

const MIB = 1024 ** 2;

/**
 * The same services and storage, but the process "dies" at the first job-row update after a segment row was
 * written Done: the one moment at which the job's segment counter and the segment rows disagree.
 */
function dyingAfterSegmentDone(deps: Deps): Deps {
  let segmentDone = false;
  const segments = new Proxy(deps.repos.segments, {
    get(target, prop, recv) {
      const v = Reflect.get(target, prop, recv);
      if (prop !== 'upsert') return typeof v === 'function' ? v.bind(target) : v;
      return async (row: { state: string }) => {
        await target.upsert(row as never);
        if (row.state === 'Done') segmentDone = true;
      };
    },
  });
  const jobs = new Proxy(deps.repos.jobs, {
    get(target, prop, recv) {
      const v = Reflect.get(target, prop, recv);
      if (prop !== 'update') return typeof v === 'function' ? v.bind(target) : v;
      return async (...args: Parameters<typeof target.update>) => {
        if (segmentDone) throw new Error('process killed');
        return target.update(...args);
      };
    },
  });
  return { ...deps, repos: { ...deps.repos, segments, jobs } } as Deps;
}

describe('the reconciler and a backup whose host died between a segment and its count', () => {
  let s: AppStack;
  let itemKey = '';

  beforeAll(async () => {
    s = await startAppStack({ VMBACKUP_SEGMENT_SIZE_MIB: '4', VMBACKUP_SHARD_SIZE_MIB: '16' });
    const vm = s.emulator.createVm({ subscriptionId: SUB, resourceGroup: 'recon-bk', name: 'countlost', disks: [{ name: 'countlost-os', sizeBytes: 16 * MIB, lun: -1 }] });
    fill(s.emulator.store, EmulatorState.key(vm.osDiskId), 0, 12 * MIB, 5);
    itemKey = itemKeyFor(vm.id);
    await requestRegistration(s.deps, [vm.id]);
    await s.drain();
  }, 120_000);
  afterAll(async () => {
    await s?.stop();
  });

  it('re-drives it to completion: the segment rows, not the lost count, decide what is done', { timeout: 120_000 }, async () => {
    const qs = QueueServiceClient.fromConnectionString(s.azurite.connectionString);
    const clear = async (): Promise<void> => {
      for (const q of [...KINDS.queues]) await qs.getQueueClient(q).clearMessages();
    };
    const job = await backupNow(s.deps, itemKey);
    await clear();
    await snapshotStep(s.deps, { jobId: job.jobId });
    const planned = await getJob(s.deps, job.jobId);
    expect(planned.segmentsTotal).toBe(4);
    // Segment 0 is copied and marked Done; the process dies before it counts, and every message is lost.
    await expect(copyStep(dyingAfterSegmentDone(s.deps), { jobId: job.jobId, diskKey: planned.plan![0]!.diskKey, segment: 0 })).rejects.toThrow('process killed');
    await clear();
    const stuck = await getJob(s.deps, job.jobId);
    expect(stuck.segmentsDone).toBe(0);
    expect((await s.deps.repos.segments.all(job.jobId)).filter((r) => r.state === 'Done')).toHaveLength(1);

    s.emulator.clock.advance(s.deps.config.lockTtlSeconds * 1000 + 1000);
    expect((await reconcile(s.deps)).jobsRedriven).toBe(1);
    await s.drain();
    const done = await getJob(s.deps, job.jobId);
    expect(done.status, `${done.status} ${done.phase} ${done.segmentsDone}/${done.segmentsTotal} ${JSON.stringify(done.error)}`).toBe('Completed');
    expect(await s.deps.repos.points.all(itemKey)).toHaveLength(1);
  });
});
