import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PipelinePolicy } from '@azure/core-rest-pipeline';
import { startAppStack, type AppStack } from '../support/app-stack';
import { SUB } from '../support/emulator';
import { fill } from '../../src/emulator/guest';
import { EmulatorState } from '../../src/emulator/arm/state';
import { requestRegistration, backupNow } from '../../src/core/workflows/protection/protection';
import { getJob } from '../../src/core/jobs/jobs';
import { itemKeyFor } from '../../src/core/store/layout';

const MIB = 1024 ** 2;

/** Counts the ARM requests the app's clients send (every ARM path starts with /subscriptions/). */
function armCounter(): PipelinePolicy & { calls: { method: string; path: string }[] } {
  const calls: { method: string; path: string }[] = [];
  return {
    name: 'armCounter',
    calls,
    async sendRequest(req, next) {
      const u = new URL(req.url);
      if (u.pathname.startsWith('/subscriptions/')) calls.push({ method: req.method, path: u.pathname.toLowerCase() });
      return next(req);
    },
  };
}

// Each grantAccess is a POST LRO against the subscription's ARM write bucket (200 burst, 10/s:
// https://learn.microsoft.com/azure/azure-resource-manager/management/request-limits-and-throttling), and Azure
// lets five snapshots of a family hold a SAS at once (includes/virtual-machines-disks-incremental-snapshots-restrictions.md):
// a job grants each snapshot once, however many segments read it (AZURE-FIDELITY M3).
describe('ARM requests per backup of a 4-disk VM (request-limits-and-throttling, AZURE-FIDELITY M3)', () => {
  let s: AppStack;
  const counter = armCounter();
  let vmId = '';
  beforeAll(async () => {
    // 32 MiB segments: each 96 MiB disk is 3 segments, 12 segments per backup.
    s = await startAppStack({ VMBACKUP_SEGMENT_SIZE_MIB: '32' }, [counter]);
    const vm = s.emulator.createVm({
      subscriptionId: SUB,
      resourceGroup: 'prod',
      name: 'db1',
      osType: 'Linux',
      disks: [0, 1, 2, 3].map((n) => ({ name: `db1-d${n}`, sizeBytes: 96 * MIB, lun: n - 1 })),
    });
    vmId = vm.id;
    await s.deps.repos.policies.insert({
      name: 'daily',
      timeZone: 'UTC',
      schedule: { frequency: 'Daily', times: ['02:00'] },
      retention: { dailyDays: 30 },
      instantRestoreDays: 2,
      consistency: { mode: 'CrashConsistent', scriptTimeoutSeconds: 60 },
    });
    await requestRegistration(s.deps, [vmId], 'daily');
    await s.drain();
  }, 120_000);
  afterAll(async () => s?.stop());

  it('grants each snapshot once per job, not twice per segment', { timeout: 300_000 }, async () => {
    const counts: { total: number; grants: number; segments: number }[] = [];
    for (let n = 0; n < 2; n++) {
      const vm = s.emulator.state.vm(vmId)!;
      for (const id of [vm.osDiskId, ...vm.dataDisks.map((d) => d.diskId)]) for (let k = 0; k < 3; k++) fill(s.emulator.store, EmulatorState.key(id), (k * 32 + 5) * MIB, 4096, n * 10 + k);
      counter.calls.length = 0;
      const job = await backupNow(s.deps, itemKeyFor(vmId));
      await s.drain();
      const done = await getJob(s.deps, job.jobId);
      expect(done.status, JSON.stringify(done.error)).toBe('Completed');
      const grants = counter.calls.filter((c) => c.method === 'POST' && c.path.endsWith('/begingetaccess')).length;
      counts.push({ total: counter.calls.length, grants, segments: done.segmentsTotal });
      s.emulator.clock.advance(60_000);
    }
    console.log(`ARM requests per backup of a 4-disk VM (full, then incremental): ${JSON.stringify(counts)}`);
    expect(counts.map((c) => c.segments)).toEqual([12, 12]);
    // The full copy reads 4 new snapshots; the incremental one 4 new snapshots and their 4 diff bases.
    expect(counts.map((c) => c.grants)).toEqual([4, 8]);
  });
});
