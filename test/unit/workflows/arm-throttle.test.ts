import { describe, expect, it } from 'vitest';
import { backupNow } from '../../../src/core/workflows/protection/protection';
import { requestRestore } from '../../../src/core/workflows/restore/restore';
import { getJob } from '../../../src/core/jobs/jobs';
import { requestCancel, runStep } from '../../../src/core/jobs/run-step';
import { QUEUES } from '../../../src/core/config';
import { armThrottled } from '../../../src/core/errors';
import { MemoryArmThrottle, throttledPort, type ArmOpKind } from '../../../src/core/adapters/memory/arm-throttle';
import { FakeClock, memoryDeps, MIB, type MemoryStack } from '../../support/memory-deps';
import { finished, pattern, registeredVm } from '../../support/memory-fixtures';

/**
 * ARM throttling (429 with Retry-After: https://learn.microsoft.com/azure/azure-resource-manager/management/request-limits-and-throttling;
 * Compute: https://learn.microsoft.com/troubleshoot/azure/virtual-machines/troubleshooting-throttling-errors) is never
 * a reason to fail a job. Each case throttles one operation kind hard (an empty bucket of a few calls refilling one
 * per 20 s; a step needing more calls of a kind than the bucket holds could never pass, as on Azure) and runs register, two backups, a restore and a third backup cancelled during its copy (which deletes its
 * snapshots) with a single delivery per message allowed: a step that spent a delivery on a 429 would fail its job at once.
 */
function throttledStack(kind: ArmOpKind): { s: MemoryStack; throttle: MemoryArmThrottle } {
  const clock = new FakeClock();
  const throttle = new MemoryArmThrottle({ [kind]: { bucket: kind === 'deletes' ? 2 : 5, refillPerSecond: 0.05, start: 0 } }, clock.now);
  const s = memoryDeps({ clock, deps: (d) => ({ compute: throttledPort(d.compute, throttle), provisioning: throttledPort(d.provisioning, throttle) }) });
  const drain = s.drain;
  s.drain = (opts) => drain({ maxDequeueCount: 1, ...opts });
  return { s, throttle };
}

describe('ARM throttling: steps wait for the Retry-After without spending deliveries (memory adapters)', () => {
  for (const kind of ['reads', 'writes', 'deletes'] as const) {
    it(`register, backup, incremental backup and restore complete under sustained 429s on ${kind}`, async () => {
      const { s, throttle } = throttledStack(kind);
      const vm = await registeredVm(s);
      const first = await backupNow(s.deps, vm.itemKey);
      await s.drain();
      await finished(s, first.jobId);
      s.clock.advance(60 * 60_000);
      s.cloud.writeDisk(vm.osDiskId, 5 * MIB, pattern(MIB, 7));
      const osAtSecond = s.cloud.readDisk(vm.osDiskId);
      const second = await backupNow(s.deps, vm.itemKey);
      await s.drain();
      const done = await finished(s, second.jobId);
      const restore = await requestRestore(s.deps, { itemKey: vm.itemKey, pointId: second.jobId, mode: 'newDisks', source: 'vault' });
      await s.drain();
      const restored = await finished(s, restore.jobId);
      const osDisk = (restored.result.disks as { diskKey: string; diskId: string }[]).find((d) => d.diskKey === 'os')!;
      expect(s.cloud.readDisk(osDisk.diskId).equals(osAtSecond)).toBe(true);
      // A third backup cancelled during its copy deletes its snapshots (ARM deletes).
      s.clock.advance(60 * 60_000);
      const third = await backupNow(s.deps, vm.itemKey);
      let asked = false;
      await s.drain({
        beforeStep: async (queue) => {
          if (queue === QUEUES.copy && !asked) {
            asked = true;
            await requestCancel(s.deps, third.jobId);
          }
        },
      });
      const cancelled = await finished(s, third.jobId, 'Cancelled');
      for (const d of cancelled.plan!) expect(s.cloud.snapshot(d.snapshotId)).toBeUndefined();
      // The throttling did happen, on the kind under test, and the jobs said they waited for it.
      expect(throttle.refused[kind]).toBeGreaterThan(0);
      const waited = [first, second, restore, third].map(async (j) => (await getJob(s.deps, j.jobId)).result.armThrottled);
      expect((await Promise.all(waited)).some((w) => (w as { waits?: number } | undefined)?.waits)).toBe(true);
      expect(done.error).toBeUndefined();
      expect(s.cloud.grants.size).toBe(0);
    });
  }

  it('re-sends the throttled message with the Retry-After as its visibility delay, up to doubling on a repeat, on the last delivery too', async () => {
    const s = memoryDeps();
    const vm = await registeredVm(s);
    const job = await backupNow(s.deps, vm.itemKey);
    s.queues.sent.clear();
    const throttled = () => {
      throw armThrottled("ARM throttled GET: Number of 'read' requests exceeded.", 7_000);
    };
    // Delivery 5 of 5: without the throttling rule this would fail the job.
    await runStep(s.deps, job.jobId, { dequeueCount: 5, maxDequeueCount: 5, queue: 'backup-snapshot', message: { jobId: job.jobId } }, async () => throttled());
    await runStep(s.deps, job.jobId, { dequeueCount: 5, maxDequeueCount: 5, queue: 'backup-snapshot', message: { jobId: job.jobId }, armWaits: 1 }, async () => throttled());
    const sent = s.queues.sent.get('backup-snapshot')!;
    expect(sent).toEqual([
      { jobId: job.jobId, armWaits: 1 },
      { jobId: job.jobId, armWaits: 2 },
    ]);
    // The first wait is the Retry-After; the repeat waits between it and twice it (jittered: arm-wait.test.ts).
    const delays = sent.map((m) => (s.queues.meta.get(m as object)!.visibleAt - s.clock.ms) / 1000);
    expect(delays[0]).toBe(7);
    expect(delays[1]).toBeGreaterThanOrEqual(7);
    expect(delays[1]).toBeLessThanOrEqual(14);
    const after = await getJob(s.deps, job.jobId);
    expect(after.status).not.toBe('Failed');
    expect(after.result.armThrottled).toMatchObject({ waits: 2 });
    expect(after.phase).toMatch(/waiting for ARM throttling until/);
    // The lock lasts past the wait, so the reconciler does not take the waiting job for dead.
    const item = (await s.deps.repos.items.get(vm.itemKey))!.doc;
    if (item.lockOwner === job.jobId) expect(item.lockExpiresAt!.getTime()).toBeGreaterThanOrEqual(s.clock.ms + delays[1]! * 1000);
  });

  it('a raw 429 that got past an adapter (statusCode and Retry-After header) waits as well; a 409 refusal still counts', async () => {
    const s = memoryDeps();
    const vm = await registeredVm(s);
    const job = await backupNow(s.deps, vm.itemKey);
    s.queues.sent.clear();
    const raw = Object.assign(new Error("Number of 'write' requests exceeded"), { statusCode: 429, response: { headers: { get: (n: string) => (n === 'retry-after' ? '3' : undefined) } } });
    await runStep(s.deps, job.jobId, { dequeueCount: 1, maxDequeueCount: 5, queue: 'backup-snapshot', message: { jobId: job.jobId } }, async () => {
      throw raw;
    });
    expect(s.queues.sent.get('backup-snapshot')).toHaveLength(1);
    const conflict = Object.assign(new Error('OperationNotAllowed'), { statusCode: 409, code: 'OperationNotAllowed' });
    await expect(
      runStep(s.deps, job.jobId, { dequeueCount: 1, maxDequeueCount: 5, queue: 'backup-snapshot', message: { jobId: job.jobId } }, async () => {
        throw conflict;
      }),
    ).rejects.toBe(conflict);
    expect(s.queues.sent.get('backup-snapshot')).toHaveLength(1);
  });
});
