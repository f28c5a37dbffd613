import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHostStack, type HostStack } from '../support/host-stack';
import { followJob } from '../support/job-progress';
import { SUB } from '../support/emulator';
import { EmulatorState } from '../../src/emulator/arm/state';
import { contentDigest, fill } from '../../src/emulator/guest';

const MIB = 1024 ** 2;

/** The restore source over the app's HTTP API: the zod body, the point's instant fields, the 409, OpenAPI. */
describe('instant restore over HTTP', () => {
  let s: HostStack;
  let item: string;
  let pointId: string;
  beforeAll(async () => {
    s = await startHostStack();
    const vm = s.emulator.createVm({
      subscriptionId: SUB,
      resourceGroup: 'inst',
      name: 'in1',
      disks: [
        { name: 'in1-os', sizeBytes: 64 * MIB, lun: -1 },
        { name: 'in1-data', sizeBytes: 96 * MIB, lun: 0 },
      ],
    });
    fill(s.emulator.store, EmulatorState.key(vm.osDiskId), 0, 4 * MIB, 1);
    fill(s.emulator.store, EmulatorState.key(vm.dataDisks[0]!.diskId), 10 * MIB, 3 * MIB, 2);
    const reg = await s.call('POST', 'items/register', { vmIds: [vm.id] });
    expect((await followJob(s, reg.body.jobs[0].jobId)).status).toBe('Completed');
    item = encodeURIComponent(reg.body.jobs[0].itemKey);
    const b = await s.call('POST', `items/${item}/backup`, {});
    expect((await followJob(s, b.body.jobId)).status).toBe('Completed');
    pointId = b.body.jobId;
  }, 120_000);
  afterAll(async () => s?.stop());

  it('describes source in the OpenAPI document and refuses an unknown one with 400', async () => {
    const doc = (await s.call('GET', 'openapi.json')).body;
    const schema = doc.paths['/items/{itemKey}/recoveryPoints/{pointId}/restore'].post.requestBody.content['application/json'].schema;
    expect(schema.properties.source.enum).toEqual(['auto', 'snapshot', 'vault']);
    expect(schema.properties.source.description).toMatch(/Default: auto\./);
    const bad = await s.call('POST', `items/${item}/recoveryPoints/${pointId}/restore`, { mode: 'newDisks', source: 'tape' });
    expect(bad.status).toBe(400);
  });

  it('shows the point as instantly restorable, restores it from its snapshots, then answers 409 once they are gone', { timeout: 120_000 }, async () => {
    const [p] = (await s.call('GET', `items/${item}/recoveryPoints`)).body.items;
    expect(p.instantRestore).toBe(true);
    expect(Date.parse(p.instantRestoreUntil)).toBeGreaterThan(Date.now());
    const r = await s.call('POST', `items/${item}/recoveryPoints/${pointId}/restore`, { mode: 'newDisks', source: 'snapshot' });
    expect(r.status).toBe(202);
    const job = await followJob(s, r.body.jobId);
    expect(job.status, JSON.stringify(job.error)).toBe('Completed');
    expect(job.result.source).toBe('snapshot');
    // Each restored disk holds the point: its content digest is the one the point's manifest gives.
    for (const d of job.result.disks as { diskKey: string; diskId: string }[]) {
      expect(contentDigest(s.emulator.store, EmulatorState.key(d.diskId)), d.diskKey).toBe(p.disks.find((x: { diskKey: string }) => x.diskKey === d.diskKey).digest);
    }
    for (const snap of [...s.emulator.state.snapshots.values()]) s.emulator.resources.deleteSnapshot(snap);
    const one = (await s.call('GET', `items/${item}/recoveryPoints/${pointId}`)).body;
    expect(one.instantRestore).toBe(false);
    const refused = await s.call('POST', `items/${item}/recoveryPoints/${pointId}/restore`, { mode: 'newDisks', source: 'snapshot' });
    expect(refused.status).toBe(409);
    expect(refused.body.error.code).toBe('InstantRestoreUnavailable');
    expect(refused.body.error.recommendedAction).toMatch(/source "vault"/);
  });
});
