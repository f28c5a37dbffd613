import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PipelinePolicy } from '@azure/core-rest-pipeline';
import { startAppStack, type AppStack } from '../support/app-stack';
import { SUB } from '../support/emulator';
import { EmulatorState } from '../../src/emulator/arm/state';
import { contentDigest, fill, trim } from '../../src/emulator/guest';
import { backupNow, requestRegistration } from '../../src/core/workflows/protection/protection';
import { requestRestore } from '../../src/core/workflows/restore/restore';
import { getJob } from '../../src/core/jobs/jobs';
import { itemKeyFor } from '../../src/core/store/layout';
import { ConflictError } from '../../src/core/errors';
import { reconcile } from '../../src/core/jobs/reconciler';

const MIB = 1024 ** 2;

class InjectedCrash extends Error {}

/** Counts every request the app sends; at request k it throws, as if the process died right there. */
function crashAt(): { policy: PipelinePolicy; arm(k: number): void; count: number; fired: number } {
  const state = { k: 0, n: 0, count: 0, fired: 0 };
  return {
    policy: {
      name: 'crashAtRequest',
      async sendRequest(req, next) {
        state.count++;
        if (state.k > 0 && ++state.n === state.k && ++state.fired) throw new InjectedCrash(`crash injected at request ${state.k}`);
        return next(req);
      },
    },
    arm(k: number) {
      state.k = k;
      state.n = 0;
    },
    get count() {
      return state.count;
    },
    get fired() {
      return state.fired;
    },
  };
}

describe('a backup cut off at the k-th request resumes to exactly one byte-exact recovery point', () => {
  let stack: AppStack;
  let vmId: string;
  const crash = crashAt();

  beforeAll(async () => {
    stack = await startAppStack({ VMBACKUP_SEGMENT_SIZE_MIB: '32', VMBACKUP_SHARD_SIZE_MIB: '48' }, [crash.policy]);
    vmId = stack.emulator.createVm({
      subscriptionId: SUB,
      resourceGroup: 'rg',
      name: 'db1',
      disks: [
        { name: 'db1-os', sizeBytes: 64 * MIB, lun: -1 },
        { name: 'db1-data', sizeBytes: 112 * MIB, lun: 0 },
      ],
    }).id;
    await requestRegistration(stack.deps, [vmId]);
    await stack.drain();
  });
  afterAll(async () => stack?.stop());

  it('for many k across the snapshot, copy and finalize steps', { timeout: 240_000 }, async () => {
    const itemKey = itemKeyFor(vmId);
    const vm = stack.emulator.state.vm(vmId)!;
    const disks = [vm.osDiskId, ...vm.dataDisks.map((d) => d.diskId)].map((id) => EmulatorState.key(id));
    let seed = 1;
    const mutate = (): void => {
      for (const d of disks) {
        const size = stack.emulator.store.get(d)!.sizeBytes;
        fill(stack.emulator.store, d, (seed * 7 * MIB) % (size - 9 * MIB), 9 * MIB + 1536, seed);
        fill(stack.emulator.store, d, ((seed * 13 + 5) * 512) % size, 512, seed + 1);
        trim(stack.emulator.store, d, ((seed * 3 + 1) * MIB) % (size - MIB), 64 * 1024);
        seed++;
      }
    };
    // A clean backup first, to learn how many requests one takes.
    mutate();
    const before = crash.count;
    await backupNow(stack.deps, itemKey);
    await stack.drain();
    const perBackup = crash.count - before;
    const ks = [1, 2, 3, 5, 8].concat([0.15, 0.3, 0.45, 0.6, 0.75, 0.9, 0.97].map((f) => Math.max(9, Math.floor(perBackup * f))));

    for (const k of ks) {
      mutate();
      stack.emulator.clock.advance(60_000);
      const pointsBefore = (await stack.deps.repos.points.all(itemKey)).length;
      crash.arm(k);
      let job;
      try {
        job = await backupNow(stack.deps, itemKey);
      } catch (err) {
        // The crash hit backup-now itself (before the job was queued): the caller retries, as a client would.
        // If it died between taking the item and writing its job, the item reads busy until the lock is seen to
        // have no job (30 s): a client that retries a moment later gets its backup.
        expect(err).toBeInstanceOf(InjectedCrash);
        stack.emulator.clock.advance(31_000);
        try {
          job = await backupNow(stack.deps, itemKey);
        } catch (again) {
          // It died after writing its job: the item is that job's, and the answer says so (409). The job's
          // message may be lost, so the reconciler re-drives it once its lock has run out.
          expect(again).toBeInstanceOf(ConflictError);
          job = await getJob(stack.deps, (await stack.deps.repos.items.get(itemKey))!.doc.lockOwner!);
          stack.emulator.clock.advance(61_000);
          await reconcile(stack.deps);
        }
      }
      await stack.drain();
      let done = await getJob(stack.deps, job.jobId);
      if (done.status !== 'Completed') {
        // A crash during planning holds the plan claim until its lease ends; time moves on and it is redone.
        stack.emulator.clock.advance(120_000);
        await stack.drain();
        done = await getJob(stack.deps, job.jobId);
      }
      expect(done.status, `k=${k}: ${JSON.stringify(done.error)}`).toBe('Completed');
      const points = await stack.deps.repos.points.all(itemKey);
      expect(points.length, `k=${k}`).toBe(pointsBefore + 1);
      expect(stack.emulator.state.grants.size, `k=${k}: open SAS`).toBe(0);
      const itemRow = (await stack.deps.repos.items.get(itemKey))!.doc;
      expect(itemRow.lockOwner, `k=${k}: lock left`).toBeUndefined();
      // Source snapshots: one per disk per backup, none orphaned by the crash.
      const snaps = [...stack.emulator.state.snapshots.values()].filter((s) => s.tags['vmbackup-job'] === job.jobId);
      expect(snaps.length, `k=${k}: snapshots of this job`).toBe(2);
      for (const d of done.plan!) {
        const p = points.find((x) => x.pointId === done.result.recoveryPointId)!;
        expect(p.disks.find((x) => x.diskKey === d.diskKey)!.digest, `k=${k} ${d.diskKey}`).toBe(contentDigest(stack.emulator.store, EmulatorState.key(d.snapshotId)));
      }
    }
    crash.arm(0);
    expect(crash.fired).toBe(ks.length); // every run really was cut off
    // The last point restores byte-exact.
    const last = (await stack.deps.repos.points.all(itemKey))[0]!;
    const r = await requestRestore(stack.deps, { itemKey, pointId: last.pointId, mode: 'newDisks', source: 'vault' });
    await stack.drain();
    const rj = await getJob(stack.deps, r.jobId);
    expect(rj.status, JSON.stringify(rj.error)).toBe('Completed');
    for (const d of rj.result.disks as { diskKey: string; diskId: string }[]) {
      const src = last.disks.find((x) => x.diskKey === d.diskKey)!.sourceSnapshotId;
      expect(contentDigest(stack.emulator.store, EmulatorState.key(d.diskId))).toBe(contentDigest(stack.emulator.store, EmulatorState.key(src)));
    }
  });
});
