import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHostStack, type HostStack } from '../support/host-stack';
import { checkAllJobs, followJob } from '../support/job-progress';
import { SUB } from '../support/emulator';
import { EmulatorState } from '../../src/emulator/arm/state';
import { contentDigest, fill, fingerprint } from '../../src/emulator/guest';

const MIB = 1024 ** 2;

/** Every job this suite runs is followed with the progress invariants checked on each view. */
const waitForJob = followJob;

describe('the Function App end to end through the local Functions host', () => {
  let s: HostStack;
  beforeAll(async () => {
    s = await startHostStack();
    s.emulator.createVm({
      subscriptionId: SUB,
      resourceGroup: 'apps',
      name: 'api1',
      tags: { 'vmbackup-policy': 'nightly' },
      disks: [
        { name: 'api1-os', sizeBytes: 128 * MIB, lun: -1 },
        { name: 'api1-data', sizeBytes: 2048 * MIB, lun: 0 },
      ],
    });
    s.emulator.createVm({ subscriptionId: SUB, resourceGroup: 'apps', name: 'win1', osType: 'Windows', disks: [{ name: 'win1-os', sizeBytes: 256 * MIB, lun: -1 }] });
  }, 180_000);
  afterAll(async () => s?.stop());

  it('discovers, registers, protects, backs up on schedule and on demand, and restores byte-exact over HTTP', { timeout: 180_000 }, async () => {
    expect((await s.call('GET', 'health', undefined, '')).body.status).toBe('Healthy');
    const policy = { name: 'nightly', timeZone: 'Europe/Berlin', schedule: { frequency: 'Daily', times: ['02:00'] }, retention: { dailyDays: 14, weekly: { weeks: 8, dayOfWeek: 'Sunday' } } };
    expect((await s.call('POST', 'policies', policy)).status).toBe(201);

    // Discovery registers and protects the tagged VM by itself.
    // It runs as a job (Azure cuts an HTTP trigger off at 230 s): 202 with the job's Location, then the job's result.
    const disc = await s.call('POST', 'discovery');
    expect(disc.status, JSON.stringify(disc.body)).toBe(202);
    expect(disc.headers.get('location')).toBe(`${s.host.url}/api/jobs/${disc.body.jobId}`);
    const discovered = await waitForJob(s, disc.body.jobId);
    expect(discovered).toMatchObject({ type: 'Discovery', status: 'Completed', result: { vms: 2 } });
    expect(discovered.result.autoRegistered).toHaveLength(1);
    await waitForJob(s, (await s.call('GET', 'jobs?type=Register')).body.items[0].jobId);
    const vms = (await s.call('GET', 'vms')).body.items as { name: string; itemKey: string; id: string }[];
    const api1 = vms.find((v) => v.name === 'api1')!;
    const win1 = vms.find((v) => v.name === 'win1')!;

    // The other VM is registered and protected through the API.
    const reg = await s.call('POST', 'items/register', { vmIds: [win1.id] });
    expect(reg.status).toBe(202);
    await waitForJob(s, reg.body.jobs[0].jobId);
    const prot = await s.call('POST', 'items/protect', { itemKeys: [win1.itemKey], policyName: 'nightly' });
    expect(prot.status).toBe(202);
    await waitForJob(s, prot.body.jobs[0].jobId);
    await new Promise((r) => setTimeout(r, 500));
    let items = (await s.call('GET', 'items')).body.items as { itemKey: string; state: string }[];
    expect(items.map((i) => i.state).sort()).toEqual(['ProtectionPending', 'ProtectionPending']);

    // Guest data, then the scheduler timer fires: one backup job per item for the due slot.
    const store = s.emulator.store;
    const vm = s.emulator.state.vm(api1.id)!;
    const dataDisk = EmulatorState.key(vm.dataDisks[0]!.diskId);
    fill(store, dataDisk, 3 * MIB + 512, 100 * MIB, 1);
    fill(store, EmulatorState.key(vm.osDiskId), 0, 16 * MIB, 2);
    for (const i of items) await s.backdateProtection(i.itemKey);
    await s.host.runTimer('scheduler');
    await s.host.runTimer('scheduler'); // a second tick creates nothing new
    const jobs = (await s.call('GET', 'jobs?type=Backup')).body.items as { jobId: string; itemKey: string; trigger: string }[];
    expect(jobs).toHaveLength(2);
    expect(jobs.every((j) => j.trigger === 'Scheduled')).toBe(true);
    for (const j of jobs) expect((await waitForJob(s, j.jobId)).status).toBe('Completed');
    const first = jobs.find((j) => j.itemKey === api1.itemKey)!;

    // The guest keeps writing; backup now copies only what changed.
    fill(store, dataDisk, 700 * MIB, 5 * MIB, 3);
    const backupRoute = `items/${encodeURIComponent(api1.itemKey)}/backup`;
    const badKey = await s.call('POST', backupRoute, {}, undefined, { 'Idempotency-Key': 'has spaces' });
    expect(badKey.status).toBe(400);
    expect(badKey.body.error.code).toBe('InvalidRequest');
    const now = await s.call('POST', backupRoute, {}, undefined, { 'Idempotency-Key': 'e2e-backup-1' });
    expect(now.status).toBe(202);
    // The client lost the answer and sends the same request again: the same job, not a second backup.
    const retried = await s.call('POST', backupRoute, {}, undefined, { 'Idempotency-Key': 'e2e-backup-1' });
    expect(retried.status).toBe(202);
    expect(retried.body.jobId).toBe(now.body.jobId);
    const incr = await waitForJob(s, now.body.jobId);
    expect(incr.status).toBe('Completed');

    const points = (await s.call('GET', `items/${encodeURIComponent(api1.itemKey)}/recoveryPoints`)).body.items as {
      pointId: string;
      changedBytes: number;
      disks: { diskKey: string; digest: string }[];
    }[];
    expect(points).toHaveLength(2);
    expect(points[0]!.pointId).toBe(now.body.jobId); // newest first
    expect(points[0]!.changedBytes).toBe(5 * MIB);

    // Restore the first (scheduled) point over HTTP and compare with its source snapshots.
    const firstJob = await waitForJob(s, first.jobId);
    const restore = await s.call('POST', `items/${encodeURIComponent(api1.itemKey)}/recoveryPoints/${first.jobId}/restore`, { mode: 'newDisks', source: 'vault', targetResourceGroup: 'restored' });
    expect(restore.status).toBe(202);
    const rj = await waitForJob(s, restore.body.jobId);
    expect(rj.status, JSON.stringify(rj.error)).toBe('Completed');
    for (const d of rj.result.disks as { diskKey: string; diskId: string }[]) {
      const src = firstJob.disks.find((x: { diskKey: string }) => x.diskKey === d.diskKey);
      expect(src).toBeDefined();
      const plan = (await s.call('GET', `items/${encodeURIComponent(api1.itemKey)}/recoveryPoints/${first.jobId}`)).body.disks.find((x: { diskKey: string }) => x.diskKey === d.diskKey);
      const snapshot = [...s.emulator.state.snapshots.values()].find(
        (x) => x.tags['vmbackup-job'] === first.jobId && x.sourceDiskId.toLowerCase().includes(d.diskKey === 'os' ? 'api1-os' : 'api1-data'),
      )!;
      expect(fingerprint(store, EmulatorState.key(d.diskId))).toBe(fingerprint(store, EmulatorState.key(snapshot.id)));
      expect(plan.digest).toBe(contentDigest(store, EmulatorState.key(snapshot.id)));
    }

    items = (await s.call('GET', 'items')).body.items;
    expect(items.map((i) => i.state)).toEqual(['Protected', 'Protected']);
    const dash = (await s.call('GET', 'dashboard')).body;
    expect(dash.protectedItems.byState.Protected).toBe(2);
    expect(dash.jobsLast24h.byStatus.Completed).toBeGreaterThanOrEqual(6);
    expect(dash.storage.recoveryPoints).toBe(3);
  });

  it('answers bad input with 400/401/404/409 and an error code, never 500', async () => {
    const item = encodeURIComponent('vm;nope;nope;nope');
    expect((await s.call('GET', 'items', undefined, '')).status).toBe(401);
    expect((await s.call('GET', 'items', undefined, 'wrong')).status).toBe(401);
    const bad = await s.call('POST', 'policies', { name: 'x', timeZone: 'Mars/Base', schedule: { frequency: 'Daily', times: ['25:00'] }, retention: { dailyDays: 0 } });
    expect(bad.status).toBe(400);
    expect(bad.body.error.code).toBe('InvalidRequest');
    expect(bad.body.error.message).toMatch(/timeZone/);
    expect((await s.call('POST', 'policies', '{not json')).body.error.code).toBe('InvalidJson');
    expect((await s.call('GET', `items/${item}`)).status).toBe(404);
    expect((await s.call('POST', `items/${item}/backup`, {})).body.error.code).toBe('ProtectedItemNotFound');
    expect((await s.call('GET', 'jobs/not-a-job')).status).toBe(400);
    expect((await s.call('GET', 'jobs?top=100000')).status).toBe(400);
    expect((await s.call('POST', 'items/register', { vmIds: ['../../etc/passwd'] })).status).toBe(400);
    const del = await s.call('DELETE', 'policies/nightly');
    expect(del.status).toBe(409);
    expect(del.body.error.code).toBe('ConfirmationRequired');
    const again = await s.call('DELETE', `policies/nightly?confirmationToken=${encodeURIComponent(del.body.error.details.confirmationToken)}`);
    expect(again.status).toBe(409);
    expect(again.body.error.code).toBe('PolicyInUse');
    expect((await s.call('GET', 'openapi.json', undefined, '')).body.paths['/jobs'].get).toBeDefined();
  });

  it('leaves every job it ran with progress a user can trust (0 <= done <= total, 100 % exactly when Completed)', async () => {
    expect(await checkAllJobs(s)).toBeGreaterThan(0);
  });
});
