import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAppStack, type AppStack } from '../support/app-stack';
import { SUB } from '../support/emulator';
import { backupNow, requestRegistration } from '../../src/core/workflows/protection/protection';
import { getJob } from '../../src/core/jobs/jobs';
import { QUEUES } from '../../src/core/config';
import { itemKeyFor } from '../../src/core/store/layout';
import type { Logger } from '../../src/core/ports/logger';

const MIB = 1024 ** 2;

/**
 * "Up to seven incremental snapshots per disk can be created every five minutes"
 * (includes/virtual-machines-disks-incremental-snapshots-restrictions.md). Azure's error for it is undocumented
 * (AZURE-FIDELITY m1): the product counts the disk's snapshots when a create is refused and waits for the window,
 * re-sending its step with a visibility delay instead of spending deliveries that run out in seconds.
 */
describe("a disk at Azure's 7 snapshots per 5 minutes", () => {
  let stack: AppStack;
  beforeAll(async () => {
    stack = await startAppStack();
  }, 60_000);
  afterAll(async () => stack?.stop());

  it('makes the backup wait for the window, with no failed delivery, and take every disk under one attempt', { timeout: 120_000 }, async () => {
    const vm = stack.emulator.createVm({
      subscriptionId: SUB,
      resourceGroup: 'busy',
      name: 'app1',
      disks: [
        { name: 'app1-os', sizeBytes: 32 * MIB, lun: -1 },
        { name: 'app1-data', sizeBytes: 32 * MIB, lun: 0 },
      ],
    });
    const [reg] = await requestRegistration(stack.deps, [vm.id]);
    await stack.drain();
    expect((await getJob(stack.deps, reg!.jobId)).status).toBe('Completed');
    // Another tool took seven snapshots of the data disk just now.
    const dataDisk = stack.emulator.state.vm(vm.id)!.dataDisks[0]!.diskId;
    for (let n = 0; n < 7; n++)
      stack.emulator.resources.putSnapshot(SUB, 'busy', `other-${n}`, {
        location: 'westeurope',
        properties: { incremental: true, creationData: { createOption: 'Copy', sourceResourceId: dataDisk } },
      });
    const failures: unknown[] = [];
    const log: Logger = { info() {}, warn: (m, d) => void failures.push({ m, d }), error: (m, d) => void failures.push({ m, d }) };
    (stack.deps as { log: Logger }).log = log;
    const job = await backupNow(stack.deps, itemKeyFor(vm.id));
    const phases: string[] = [];
    await stack.drain({
      beforeStep: async (queue, msg) => {
        if (queue !== QUEUES.snapshot || msg.jobId !== job.jobId) return;
        const phase = (await getJob(stack.deps, job.jobId)).phase ?? '';
        phases.push(phase);
        // Azure's five minutes pass while the step waits (only then: a step that does not wait gets no time).
        if (phase.startsWith('Waiting for snapshot window')) stack.emulator.clock.advance(5 * 60_000);
      },
    });
    const done = await getJob(stack.deps, job.jobId);
    expect(done.status, JSON.stringify(done.error)).toBe('Completed');
    expect(phases.some((p) => /^Waiting for snapshot window: .*app1-data.*7 incremental snapshots/.test(p))).toBe(true);
    expect(failures).toEqual([]);
    // The OS disk's snapshot of the refused attempt was deleted: the point's two snapshots come from one attempt.
    const mine = [...stack.emulator.state.snapshots.values()].filter((s) => s.tags['vmbackup-job'] === job.jobId);
    expect(mine.map((s) => s.id).sort()).toEqual(done.plan!.map((d) => d.snapshotId).sort());
    const created = mine.map((s) => s.createdAtMs);
    expect(Math.max(...created) - Math.min(...created)).toBeLessThan(60_000);
  });
});
