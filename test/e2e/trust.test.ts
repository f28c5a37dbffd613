import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHostStack, TEST_KEYS, type HostStack } from '../support/host-stack';
import { checkAllJobs, followJob } from '../support/job-progress';
import { SUB } from '../support/emulator';
import { EmulatorState } from '../../src/emulator/arm/state';
import { fill } from '../../src/emulator/guest';

const MIB = 1024 ** 2;

/** A request with an abort timeout: an answer that does not come is a failure, not a hang of the suite. */
async function raw(s: HostStack, method: string, route: string, init: { body?: string | Uint8Array; headers?: Record<string, string> } = {}): Promise<{ status: number; body: any }> {
  // eslint-disable-line @typescript-eslint/no-explicit-any
  const res = await fetch(`${s.host.url}/api/${route}`, {
    method,
    headers: { 'x-functions-key': TEST_KEYS.FUNCTIONS_FUNCTION_KEY, ...init.headers },
    body: init.body,
    signal: AbortSignal.timeout(5000),
  });
  const text = await res.text();
  try {
    return { status: res.status, body: JSON.parse(text) };
  } catch {
    return { status: res.status, body: text };
  }
}

describe('API and job state a user can trust (issue 19)', () => {
  let s: HostStack;
  let itemKey: string;
  let item: string;
  beforeAll(async () => {
    s = await startHostStack();
    const vm = s.emulator.createVm({
      subscriptionId: SUB,
      resourceGroup: 'trust',
      name: 'tr1',
      disks: [
        { name: 'tr1-os', sizeBytes: 64 * MIB, lun: -1 },
        { name: 'tr1-data', sizeBytes: 96 * MIB, lun: 0 },
      ],
    });
    fill(s.emulator.store, EmulatorState.key(vm.osDiskId), 0, 6 * MIB, 1);
    fill(s.emulator.store, EmulatorState.key(vm.dataDisks[0]!.diskId), 20 * MIB, 9 * MIB, 2);
    // The daily slot at midnight UTC lies before every job of this suite, as a slot usually does.
    expect((await s.call('POST', 'policies', { name: 'midnight', timeZone: 'UTC', schedule: { frequency: 'Daily', times: ['00:00'] }, retention: { dailyDays: 7 } })).status).toBe(201);
    const reg = await s.call('POST', 'items/register', { vmIds: [vm.id], policyName: 'midnight' });
    expect(reg.status).toBe(202);
    expect((await followJob(s, reg.body.jobs[0].jobId)).status).toBe('Completed');
    itemKey = reg.body.jobs[0].itemKey;
    item = encodeURIComponent(itemKey);
    await s.backdateProtection(itemKey);
  }, 60_000);
  afterAll(async () => s?.stop());

  it('lists a scheduled backup first among the jobs: its id sorts by when it was created, not by its slot', { timeout: 60_000 }, async () => {
    await s.host.runTimer('scheduler');
    const jobs = (await s.call('GET', 'jobs')).body.items as { jobId: string; type: string; trigger?: string; createdAt: string }[];
    expect(jobs[0]!.trigger, JSON.stringify(jobs.map((j) => [j.type, j.trigger, j.createdAt]))).toBe('Scheduled');
    const created = jobs.map((j) => Date.parse(j.createdAt));
    expect(created).toEqual([...created].sort((a, b) => b - a));
    const done = await followJob(s, jobs[0]!.jobId);
    expect(done.status, JSON.stringify(done.error)).toBe('Completed');
    // A backup is measured against its plan: both disks' span, every segment done, 100 %.
    expect(done.progress.bytesTotal).toBe(160 * MIB);
    expect(done.progress.bytesDone).toBeGreaterThan(0);
    expect(done.progress.percent).toBe(100);
  });

  it('lets one operation at a time run on an item: a second backup-now or a restore answers 409, an idempotent retry gets its job', { timeout: 60_000 }, async () => {
    const [a, b] = await Promise.all([s.call('POST', `items/${item}/backup`, {}), s.call('POST', `items/${item}/backup`, {})]);
    expect([a.status, b.status].sort()).toEqual([202, 409]);
    const refused = a.status === 409 ? a : b;
    const accepted = a.status === 202 ? a : b;
    expect(refused.body.error.code).toBe('AnotherOperationInProgress');
    expect(refused.body.error.message).toMatch(/^Another operation is in progress on/);
    expect(refused.body.error.recommendedAction).toMatch(/Wait for the running job/);
    const points = (await s.call('GET', `items/${item}/recoveryPoints`)).body.items as { pointId: string }[];
    const restore = await s.call('POST', `items/${item}/recoveryPoints/${points[0]!.pointId}/restore`, { mode: 'newDisks' });
    expect(restore.status).toBe(409);
    expect(restore.body.error.code).toBe('AnotherOperationInProgress');
    const item1 = (await s.call('GET', `items/${item}`)).body;
    expect([item1.busy, item1.activeJobId]).toEqual([true, accepted.body.jobId]);
    expect((await followJob(s, accepted.body.jobId)).status).toBe('Completed');

    const first = await s.call('POST', `items/${item}/backup`, {}, undefined, { 'Idempotency-Key': 'trust-retry-1' });
    const retry = await s.call('POST', `items/${item}/backup`, {}, undefined, { 'Idempotency-Key': 'trust-retry-1' });
    expect([first.status, retry.status]).toEqual([202, 202]);
    expect(retry.body.jobId).toBe(first.body.jobId);
    expect((await followJob(s, first.body.jobId)).status).toBe('Completed');
  });

  it("lists recovery points newest first and reports a finished restore at 100 % of the point's data", { timeout: 60_000 }, async () => {
    const points = (await s.call('GET', `items/${item}/recoveryPoints`)).body.items as { pointId: string; createdAt: string }[];
    expect(points.length).toBe(3);
    const created = points.map((p) => Date.parse(p.createdAt));
    expect(created).toEqual([...created].sort((a, b) => b - a));
    const r = await s.call('POST', `items/${item}/recoveryPoints/${points[0]!.pointId}/restore`, { mode: 'newDisks', source: 'vault', targetResourceGroup: 'restored' });
    expect(r.status).toBe(202);
    const done = await followJob(s, r.body.jobId);
    expect(done.status, JSON.stringify(done.error)).toBe('Completed');
    expect(done.progress.percent).toBe(100);
    expect([done.progress.segmentsDone, done.progress.segmentsTotal]).toEqual([2, 2]);
    // The data the point holds: 6 MiB and 9 MiB of guest writes, in whole 4 MiB cells.
    expect(done.progress.bytesTotal).toBe((2 + 3) * 4 * MIB);
    expect(done.progress.bytesDone).toBe(done.progress.bytesTotal);
  });

  it('answers a continuation token it did not hand out with 400 InvalidContinuationToken', async () => {
    for (const bad of ['garbage!!', Buffer.from('not json').toString('base64'), Buffer.from('{"x":1}').toString('base64'), Buffer.from('42').toString('base64')]) {
      const r = await raw(s, 'GET', `jobs?continuation=${encodeURIComponent(bad)}`);
      expect(r.status, bad).toBe(400);
      expect(r.body.error.code).toBe('InvalidContinuationToken');
      expect(r.body.error.recommendedAction).toMatch(/leave it out/);
    }
    const page = await s.call('GET', 'jobs?top=1');
    expect(page.body.continuation).toBeTypeOf('string');
    const next = await s.call('GET', `jobs?top=1&continuation=${encodeURIComponent(page.body.continuation)}`);
    expect(next.status).toBe(200);
    expect(next.body.items[0].jobId).not.toBe(page.body.items[0].jobId);
  });

  it('answers malformed percent-encoding in a path with 400 at once instead of never', async () => {
    for (const [method, route] of [
      ['GET', 'items/vm%3Bs%3Brg%3B%zz'],
      ['GET', 'items/%C3%28'],
      ['POST', 'items/vm%3Ba%3Bb%3B%E0%A4%A/backup'],
      ['GET', 'items/%/recoveryPoints'],
      ['GET', 'policies/%E0%A4%A'],
      ['DELETE', 'policies/%ZZ'],
      ['GET', 'jobs/%FF'],
    ] as const) {
      const r = await raw(s, method, route, method === 'POST' ? { body: '{}', headers: { 'content-type': 'application/json' } } : {});
      expect(r.status, `${method} ${route}`).toBe(400);
      expect(r.body.error.code, `${method} ${route}`).toBe('InvalidPathParameter');
      expect(r.body.error.recommendedAction).toMatch(/encodeURIComponent/);
    }
  });

  it('reads JSON bodies only as JSON: another declared media type is 415, no Content-Type is read as JSON', async () => {
    const policy = (name: string) => JSON.stringify({ name, timeZone: 'UTC', schedule: { frequency: 'Daily', times: ['03:00'] }, retention: { dailyDays: 3 } });
    for (const type of ['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/xml']) {
      const r = await raw(s, 'POST', 'policies', { body: policy('ct-refused'), headers: { 'content-type': type } });
      expect(r.status, type).toBe(415);
      expect(r.body.error.code).toBe('UnsupportedMediaType');
      expect(r.body.error.recommendedAction).toMatch(/Content-Type: application\/json/);
    }
    const now = await raw(s, 'POST', `items/${item}/backup`, { body: '{}', headers: { 'content-type': 'text/plain' } });
    expect(now.status).toBe(415);
    expect((await s.call('GET', 'policies/ct-refused')).status).toBe(404);
    // A Uint8Array body makes fetch send no Content-Type at all.
    expect((await raw(s, 'POST', 'policies', { body: new TextEncoder().encode(policy('ct-none')) })).status).toBe(201);
    expect((await raw(s, 'POST', 'policies', { body: policy('ct-charset'), headers: { 'content-type': 'application/json; charset=utf-8' } })).status).toBe(201);
  });

  it('brings an item whose data was deleted back to ProtectionStopped when a point is undeleted', async () => {
    const ask = await s.call('POST', `items/${item}/stop`, { deleteData: true });
    expect(ask.body.error.code).toBe('ConfirmationRequired');
    const stop = await s.call('POST', `items/${item}/stop`, { deleteData: true, confirmationToken: ask.body.error.details.confirmationToken });
    expect(stop.status, JSON.stringify(stop.body)).toBe(200);
    expect(stop.body.state).toBe('ProtectionStoppedDataDeleted');
    const points = (await s.call('GET', `items/${item}/recoveryPoints?includeDeleted=true`)).body.items as { pointId: string; state: string }[];
    expect(points.every((p) => p.state === 'SoftDeleted')).toBe(true);
    const back = await s.call('POST', `items/${item}/recoveryPoints/${points[0]!.pointId}/undelete`);
    expect(back.body.state).toBe('Available');
    expect((await s.call('GET', `items/${item}`)).body.state).toBe('ProtectionStopped');
  });

  it('leaves every job it ran with progress a user can trust', async () => {
    expect(await checkAllJobs(s)).toBe(5); // register, scheduled backup, two backups now, restore
  });
});
