import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHostStack, type HostStack } from '../support/host-stack';
import { checkAllJobs, followJob } from '../support/job-progress';
import { SUB } from '../support/emulator';
import { EmulatorState } from '../../src/emulator/arm/state';
import { fill } from '../../src/emulator/guest';

const MIB = 1024 ** 2;

/** Every job this suite runs is followed with the progress invariants checked on each view. */
const waitForJob = followJob;

describe('export and import routes through the local Functions host', () => {
  let s: HostStack;
  beforeAll(async () => {
    s = await startHostStack();
  }, 60_000);
  afterAll(async () => s?.stop());

  it('validates input, answers 404 for an unknown item, and seeds an item from a staging container', { timeout: 120_000 }, async () => {
    const unknown = encodeURIComponent('vm;sub;rg;nothing');
    let r = await s.call('POST', `items/${unknown}/export`, { container: 'seed-staging' });
    expect(r.status).toBe(404);
    expect(r.body.error.code).toBe('ProtectedItemNotFound');
    r = await s.call('POST', `items/${unknown}/import`, { container: 'seed-staging' });
    expect(r.status).toBe(404);
    for (const bad of [{ container: 'Not_A_Container' }, { container: 'ok-name', prefix: '../up' }, { container: 'ok-name', url: 'https://x.blob.core.windows.net/c?sig=abc' }, {}]) {
      r = await s.call('POST', `items/${unknown}/import`, bad);
      expect(r.status, JSON.stringify(bad)).toBe(400);
      expect(r.body.error.code).toBe('InvalidRequest');
    }
    r = await s.call('POST', `items/${unknown}/export`, { container: 'vmbackup' });
    expect(r.status).toBe(400);
    expect(r.body.error.code).toBe('PackageLocationInvalid');
    r = await s.call('POST', 'items/not-an-item-key/export', { container: 'seed-staging' });
    expect(r.status).toBe(400);
    r = await s.call('POST', `items/${unknown}/export`, '{not json');
    expect(r.status).toBe(400);
    expect(r.body.error.code).toBe('InvalidJson');

    const vm = s.emulator.createVm({ subscriptionId: SUB, resourceGroup: 'branch', name: 'fs1', disks: [{ name: 'fs1-os', sizeBytes: 512 * MIB, lun: -1 }] });
    fill(s.emulator.store, EmulatorState.key(vm.osDiskId), 8 * MIB, 10 * MIB, 5);
    const policy = { name: 'weekly', timeZone: 'UTC', schedule: { frequency: 'Daily', times: ['01:00'] }, retention: { dailyDays: 7 } };
    expect((await s.call('POST', 'policies', policy)).status).toBe(201);
    const reg = await s.call('POST', 'items/register', { vmIds: [vm.id], policyName: 'weekly' });
    expect(reg.status).toBe(202);
    expect((await waitForJob(s, reg.body.jobs[0].jobId)).status).toBe('Completed');
    const itemKey = encodeURIComponent(reg.body.jobs[0].itemKey);

    const exp = await s.call('POST', `items/${itemKey}/export`, { container: 'seed-staging', prefix: 'fs1/2026-11' });
    expect(exp.status, JSON.stringify(exp.body)).toBe(202);
    const exported = await waitForJob(s, exp.body.jobId);
    expect(exported.status, JSON.stringify(exported.error)).toBe('Completed');
    expect(JSON.stringify(exported)).not.toMatch(/AccountKey|sig=/);

    const imp = await s.call('POST', `items/${itemKey}/import`, { container: 'seed-staging', prefix: 'fs1/2026-11' });
    expect(imp.status).toBe(202);
    const imported = await waitForJob(s, imp.body.jobId);
    expect(imported.status, JSON.stringify(imported.error)).toBe('Completed');
    const points = await s.call('GET', `items/${itemKey}/recoveryPoints`);
    expect(points.status).toBe(200);
    expect(JSON.stringify(points.body)).toContain(imp.body.jobId);

    r = await s.call('POST', `items/${itemKey}/import`, { container: 'seed-staging', prefix: 'fs1/2026-11' });
    expect(r.status).toBe(409);
    expect(r.body.error.code).toBe('ItemHasRecoveryPoints');
    const doc = await s.call('GET', 'openapi.json', undefined, '');
    expect(doc.body.paths['/items/{itemKey}/import'].post.requestBody).toBeDefined();
  });

  it('leaves every job it ran with progress a user can trust (0 <= done <= total, 100 % exactly when Completed)', async () => {
    expect(await checkAllJobs(s)).toBeGreaterThan(0);
  });
});
