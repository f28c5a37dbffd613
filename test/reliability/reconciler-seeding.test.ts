import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAppStack, type AppStack } from '../support/app-stack';
import { SUB } from '../support/emulator';
import { QUEUES } from '../../src/core/config';
import { exportStep } from '../../src/core/workflows/seeding/export';
import { importStep } from '../../src/core/workflows/seeding/import';
import { requestExport } from '../../src/core/workflows/seeding/seeding';
import { requestRegistration } from '../../src/core/workflows/protection/protection';
import { reconcile } from '../../src/core/jobs/reconciler';
import { getJob } from '../../src/core/jobs/jobs';
import { EmulatorState } from '../../src/emulator/arm/state';
import { fill } from '../../src/emulator/guest';
import { itemKeyFor } from '../../src/core/store/layout';

const MIB = 1024 ** 2,
  HOUR = 3_600_000;

// Seeding jobs whose process died: one the app runs from its queue is re-driven there; one the command line
// runs against a local folder is the operator's, so it is left alone for a day and then failed with advice.
describe('the reconciler and seeding jobs', () => {
  let s: AppStack;
  const folder = mkdtempSync(path.join(tmpdir(), 'vmb-recon-seed-'));
  const items: string[] = [];

  beforeAll(async () => {
    s = await startAppStack({}, [], { [QUEUES.export]: exportStep, [QUEUES.import]: importStep });
    await s.deps.repos.policies.insert({
      name: 'daily',
      timeZone: 'UTC',
      schedule: { frequency: 'Daily', times: ['02:00'] },
      retention: { dailyDays: 7 },
      instantRestoreDays: 1,
      consistency: { mode: 'CrashConsistent', scriptTimeoutSeconds: 60 },
    });
    for (const name of ['seedq', 'seedf']) {
      const vm = s.emulator.createVm({ subscriptionId: SUB, resourceGroup: 'recon', name, disks: [{ name: `${name}-os`, sizeBytes: 32 * MIB, lun: -1 }] });
      fill(s.emulator.store, EmulatorState.key(vm.osDiskId), 0, 4 * MIB, 3);
      items.push(itemKeyFor(vm.id));
      await requestRegistration(s.deps, [vm.id], 'daily');
    }
    await s.drain();
  }, 120_000);
  afterAll(async () => {
    await s?.stop();
    rmSync(folder, { recursive: true, force: true });
  });

  it('re-drives a stalled export on its queue after the lease, and it completes', { timeout: 120_000 }, async () => {
    // Created but its message lost (enqueue: false): exactly what a host killed at the wrong moment leaves.
    const job = await requestExport(s.deps, { itemKey: items[0]!, location: { kind: 'container', container: 'seed-staging' } }, { enqueue: false });
    expect((await reconcile(s.deps)).jobsRedriven).toBe(0); // still inside its lease: maybe alive
    s.emulator.clock.advance(s.deps.config.lockTtlSeconds * 1000 + 1000);
    expect((await reconcile(s.deps)).jobsRedriven).toBe(1);
    await s.drain();
    const done = await getJob(s.deps, job.jobId);
    expect(done.status, JSON.stringify(done.error)).toBe('Completed');
  });

  it('leaves a command-line export alone for a day, then fails it with what to do', { timeout: 60_000 }, async () => {
    const job = await requestExport(s.deps, { itemKey: items[1]!, location: { kind: 'folder', path: folder } }, { enqueue: false });
    s.emulator.clock.advance(s.deps.config.lockTtlSeconds * 1000 + 1000);
    const early = await reconcile(s.deps);
    expect(early.jobsRedriven + early.jobsAbandoned).toBe(0);
    expect((await getJob(s.deps, job.jobId)).status).toBe('Queued');
    s.emulator.clock.advance(25 * HOUR);
    await reconcile(s.deps);
    const failed = await getJob(s.deps, job.jobId);
    expect(failed.status).toBe('Failed');
    expect(failed.error?.code).toBe('JobAbandoned');
    expect(failed.error?.recommendedAction).toMatch(/new export into an empty folder/);
  });
});
