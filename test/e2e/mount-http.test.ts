import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHostStack, type HostStack } from '../support/host-stack';
import { followJob } from '../support/job-progress';
import { SUB } from '../support/emulator';
import { EmulatorState } from '../../src/emulator/arm/state';
import { fill } from '../../src/emulator/guest';

const MIB = 1024 ** 2;

/** File recovery over the app's HTTP API: the zod body and its 400s, 202 with the mount, GET, unmount, OpenAPI. */
describe('mount over HTTP', () => {
  let s: HostStack;
  let item: string;
  let pointId: string;
  let helperId: string;
  beforeAll(async () => {
    s = await startHostStack();
    const vm = s.emulator.createVm({ subscriptionId: SUB, resourceGroup: 'mnt', name: 'mn1', disks: [{ name: 'mn1-os', sizeBytes: 64 * MIB, lun: -1 }] });
    fill(s.emulator.store, EmulatorState.key(vm.osDiskId), 0, 4 * MIB, 1);
    helperId = s.emulator.createVm({ subscriptionId: SUB, resourceGroup: 'mnt', name: 'helper1', osType: 'Windows', disks: [{ name: 'helper1-os', sizeBytes: 32 * MIB, lun: -1 }] }).id;
    const reg = await s.call('POST', 'items/register', { vmIds: [vm.id] });
    expect((await followJob(s, reg.body.jobs[0].jobId)).status).toBe('Completed');
    item = encodeURIComponent(reg.body.jobs[0].itemKey);
    const b = await s.call('POST', `items/${item}/backup`, {});
    expect((await followJob(s, b.body.jobId)).status).toBe('Completed');
    pointId = b.body.jobId;
  }, 120_000);
  afterAll(async () => s?.stop());

  it('describes the body in OpenAPI and refuses bad ones with 400, unknown mounts with 404', async () => {
    const doc = (await s.call('GET', 'openapi.json')).body;
    const schema = doc.paths['/items/{itemKey}/recoveryPoints/{pointId}/mount'].post.requestBody.content['application/json'].schema;
    expect(schema.required).toEqual(['helperVmId']);
    expect(schema.properties.durationMinutes.maximum).toBe(10080);
    expect(doc.paths['/mounts/{mountId}/unmount'].post).toBeDefined();
    const url = `items/${item}/recoveryPoints/${pointId}/mount`;
    expect((await s.call('POST', url, {})).status).toBe(400);
    expect((await s.call('POST', url, { helperVmId: helperId, durationMinutes: 10081 })).status).toBe(400);
    expect((await s.call('POST', url, { helperVmId: 'not-an-id' })).status).toBe(400);
    const missing = await s.call('POST', url, { helperVmId: helperId.replace('helper1', 'nobody') });
    expect([missing.status, missing.body.error.code]).toEqual([404, 'HelperVmNotFound']);
    const unknown = await s.call('GET', `mounts/${pointId}`);
    expect([unknown.status, unknown.body.error.code]).toEqual([404, 'MountNotFound']);
  });

  it('answers 202 with the mount, then GET shows the Windows commands, and unmount takes the disk away', { timeout: 120_000 }, async () => {
    const r = await s.call('POST', `items/${item}/recoveryPoints/${pointId}/mount`, { helperVmId: helperId, durationMinutes: 15 });
    expect(r.status).toBe(202);
    expect(r.body).toMatchObject({ mountId: r.body.jobId, state: 'Mounting', durationMinutes: 15 });
    expect((await followJob(s, r.body.jobId)).status).toBe('Completed');
    const m = (await s.call('GET', `mounts/${r.body.mountId}`)).body;
    expect(m).toMatchObject({ state: 'Mounted', disks: [{ diskKey: 'os', lun: 0, caching: 'ReadOnly', osDisk: true }] });
    expect(m.commands.join('\n')).toContain('Set-Disk -IsOffline $false -IsReadOnly $true');
    expect(s.emulator.state.vm(helperId)!.dataDisks).toHaveLength(1);
    const u = await s.call('POST', `mounts/${r.body.mountId}/unmount`, {});
    expect([u.status, u.body.state]).toEqual([202, 'Unmounting']);
    for (let i = 0; i < 200 && (await s.call('GET', `mounts/${r.body.mountId}`)).body.state !== 'Unmounted'; i++) await new Promise((res) => setTimeout(res, 100));
    expect((await s.call('GET', `mounts/${r.body.mountId}`)).body).toMatchObject({ state: 'Unmounted', unmountReason: 'Requested' });
    expect(s.emulator.state.vm(helperId)!.dataDisks).toEqual([]);
  });
});
