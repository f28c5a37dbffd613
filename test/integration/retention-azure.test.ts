import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PipelinePolicy } from '@azure/core-rest-pipeline';
import { startAppStack, type AppStack } from '../support/app-stack';
import { SUB } from '../support/emulator';
import { requestRegistration, backupNow } from '../../src/core/workflows/protection/protection';
import { retentionRun } from '../../src/core/workflows/protection/retention';
import { getJob } from '../../src/core/jobs/jobs';
import type { ComputePort } from '../../src/core/ports/compute';
import { itemKeyFor } from '../../src/core/store/layout';

const MIB = 1024 ** 2,
  DAY = 86_400_000;

/** Every ARM request's method and path, in order: to see what retention asked of Compute, and when. */
function armRecorder(): PipelinePolicy & { calls: { method: string; path: string }[] } {
  const calls: { method: string; path: string }[] = [];
  return {
    name: 'armRecorder',
    calls,
    async sendRequest(req, next) {
      const u = new URL(req.url);
      if (u.pathname.startsWith('/subscriptions/')) calls.push({ method: req.method, path: decodeURIComponent(u.pathname).toLowerCase() });
      return next(req);
    },
  };
}

/** The Compute RP answers the resource group in its own casing, often upper case (Azure/azure-rest-api-specs#8068). */
const upperGroup = (id: string): string => id.replace(/\/resourceGroups\/([^/]+)\//i, (_, g: string) => `/resourceGroups/${g.toUpperCase()}/`);

describe('retention on Azure ids and Azure snapshots (AZURE-FIDELITY M5)', () => {
  let s: AppStack;
  const rec = armRecorder();
  const vms: string[] = [];
  beforeAll(async () => {
    s = await startAppStack({}, [rec]);
    for (const rg of ['prod', 'web']) {
      vms.push(s.emulator.createVm({ subscriptionId: SUB, resourceGroup: rg, name: `${rg}-vm`, osType: 'Linux', disks: [{ name: `${rg}-os`, sizeBytes: 32 * MIB, lun: -1 }] }).id);
    }
    await s.deps.repos.policies.insert({
      name: 'daily',
      timeZone: 'UTC',
      schedule: { frequency: 'Weekly', daysOfWeek: ['Sunday'], times: ['02:00'] },
      retention: { dailyDays: 30 },
      instantRestoreDays: 2,
      consistency: { mode: 'CrashConsistent', scriptTimeoutSeconds: 60 },
    });
    await requestRegistration(s.deps, vms, 'daily');
    await s.drain();
    for (let n = 0; n < 2; n++) {
      for (const vm of vms) {
        const job = await backupNow(s.deps, itemKeyFor(vm));
        await s.drain();
        expect((await getJob(s.deps, job.jobId)).status).toBe('Completed');
      }
      s.emulator.clock.advance(DAY);
    }
  }, 120_000);
  afterAll(async () => s?.stop());

  it('keeps the diff base whatever the casing of its id, and revokes a snapshot before deleting it', async () => {
    // The stored base id as Compute may hand it back (the emulator keeps the casing it was given).
    const bases: string[] = [];
    for (const vm of vms) {
      const item = await s.deps.repos.items.update(itemKeyFor(vm), (i) => {
        for (const d of i.disks) d.baseSnapshotId = upperGroup(d.baseSnapshotId!);
      });
      bases.push(...item!.disks.map((d) => d.baseSnapshotId!));
    }
    s.emulator.clock.advance(7 * DAY); // the base is now older than instantRestoreDays: a weekly schedule does this
    rec.calls.length = 0;
    const r = await retentionRun(s.deps);
    expect(r.sourceSnapshotsDeleted).toBe(2); // each item's older snapshot
    const left = [...s.emulator.state.snapshots.values()].map((x) => x.id.toLowerCase()).sort();
    expect(left).toEqual(bases.map((b) => b.toLowerCase()).sort());
    // Each delete came after an end of access on the same snapshot.
    const deletes = rec.calls.filter((c) => c.method === 'DELETE' && c.path.includes('/snapshots/'));
    expect(deletes).toHaveLength(2);
    for (const d of deletes) {
      const at = rec.calls.indexOf(d);
      expect(rec.calls.slice(0, at).some((c) => c.method === 'POST' && c.path === `${d.path}/endgetaccess`)).toBe(true);
    }
  });

  it('one item whose retention fails is logged and counted, and the next item is still done', async () => {
    const listed: string[] = [];
    const errors: string[] = [];
    // The first item's listing fails (a port wrapper, not an SDK mock): the other must still be listed.
    const compute: ComputePort = Object.assign(Object.create(s.deps.compute) as ComputePort, {
      listSnapshots: (sub: string, rg: string) => {
        listed.push(rg.toLowerCase());
        if (rg.toLowerCase() === 'prod')
          return (async function* () {
            throw Object.assign(new Error('Too many requests'), { statusCode: 429 });
          })();
        return s.deps.compute.listSnapshots(sub, rg);
      },
    });
    const log = {
      ...s.deps.log,
      error: (msg: string) => {
        errors.push(msg);
      },
    };
    const r = await retentionRun({ ...s.deps, compute, log });
    expect(r.failedItems).toBe(1);
    expect(listed.sort()).toEqual(['prod', 'web']);
    expect(errors).toHaveLength(1);
  });
});
