import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAppStack, type AppStack } from '../support/app-stack';
import { SUB } from '../support/emulator';
import { EmulatorState } from '../../src/emulator/arm/state';
import { contentDigest, fill, fingerprint } from '../../src/emulator/guest';
import { backupNow, requestRegistration } from '../../src/core/workflows/protection/protection';
import { requestRestore, type RestoreRequest } from '../../src/core/workflows/restore/restore';
import { newVmOf } from '../../src/core/workflows/restore/new-vm';
import { getJob } from '../../src/core/jobs/jobs';
import { itemKeyFor } from '../../src/core/store/layout';
import { httpStatusFor } from '../../src/core/errors';
import type { Job } from '../../src/core/domain/model';

const MIB = 1024 ** 2;
const SUBNET = `/subscriptions/${SUB}/resourceGroups/net/providers/Microsoft.Network/virtualNetworks/vnet1/subnets/default`;
const SUBNET_WESTUS = SUBNET.replace('vnet1', 'vnet-wus');

/**
 * A new VM from a point of a three-disk zonal VM (OS + 2 data disks), over real HTTP: Azurite for the backup
 * storage, the compute emulator for Compute and Network, the app's real adapters. Each restored disk is compared
 * byte for byte with the source snapshot the backup was taken from, as the other restore tests do.
 */
describe('restore to a new VM (Azurite + compute emulator)', () => {
  let s: AppStack;
  let itemKey = '';
  let pointId = '';
  let snapshots: Record<string, string> = {};
  let originals: string[] = [];

  const restore = (extra: Partial<RestoreRequest> = {}, newVm: Partial<NonNullable<RestoreRequest['newVm']>> = {}) =>
    requestRestore(s.deps, { itemKey, pointId, mode: 'newVm', targetResourceGroup: 'restored', ...extra, newVm: { subnetId: SUBNET, ...newVm } });

  const run = async (job: Job, status: Job['status']): Promise<Job> => {
    await s.drain();
    const done = await getJob(s.deps, job.jobId);
    expect(done.status, JSON.stringify([done.error, done.warnings])).toBe(status);
    return done;
  };

  /** What a failed new-VM restore must leave: the original VM, its disks and snapshots, and no NIC. */
  const nothingLeft = (): void => {
    expect([...s.emulator.state.vms.values()].map((v) => v.name)).toEqual(['multi']);
    expect([...s.emulator.state.disks.values()].map((d) => d.id).sort()).toEqual([...originals].sort());
    expect([...s.emulator.state.nics.values()]).toEqual([]);
  };

  beforeAll(async () => {
    s = await startAppStack({ VMBACKUP_SEGMENT_SIZE_MIB: '16', VMBACKUP_SHARD_SIZE_MIB: '32' });
    const vm = s.emulator.createVm({
      subscriptionId: SUB,
      resourceGroup: 'rg',
      name: 'multi',
      zones: ['1'],
      hyperVGeneration: 'V2',
      disks: [
        { name: 'multi-os', sizeBytes: 64 * MIB, lun: -1 },
        { name: 'multi-data0', sizeBytes: 48 * MIB, lun: 0, caching: 'ReadOnly', deleteOption: 'Delete' },
        { name: 'multi-data3', sizeBytes: 40 * MIB, lun: 3, sku: 'StandardSSD_LRS', caching: 'None', deleteOption: 'Detach' },
      ],
    });
    originals = [vm.osDiskId, ...vm.dataDisks.map((d) => d.diskId)];
    const keys = originals.map(EmulatorState.key);
    fill(s.emulator.store, keys[0]!, 0, 5 * MIB, 1);
    fill(s.emulator.store, keys[1]!, 15 * MIB, 3 * MIB, 2); // across a segment line
    fill(s.emulator.store, keys[2]!, 40 * MIB - MIB, MIB, 3); // the last MiB
    s.emulator.network.putVnet(SUB, 'net', 'vnet1', { location: 'westeurope', properties: { subnets: [{ name: 'default', properties: { addressPrefix: '10.2.0.0/24' } }] } });
    s.emulator.network.putVnet(SUB, 'net', 'vnet-wus', { location: 'westus', properties: { subnets: [{ name: 'default', properties: { addressPrefix: '10.3.0.0/24' } }] } });
    itemKey = itemKeyFor(vm.id);
    await requestRegistration(s.deps, [vm.id]);
    await s.drain();
    const b = await backupNow(s.deps, itemKey);
    const backup = await run(b, 'Completed');
    pointId = b.jobId;
    snapshots = Object.fromEntries(backup.plan!.map((p) => [p.lun, p.snapshotId]));
    // The guest goes on writing: the restore must give the point, not today's disks.
    for (const k of keys) fill(s.emulator.store, k, 0, MIB, 9);
    s.emulator.clock.advance(60_000);
  }, 300_000);
  afterAll(async () => s?.stop());

  it("creates a running VM of the original's size and zone with every disk byte-exact, at its LUN with its caching and delete option, and a NIC in the subnet", async () => {
    const job = await restore();
    const done = await run(job, 'Completed');
    const rec = newVmOf(done)!;
    expect(rec.powerState).toBe('running');
    const vm = s.emulator.state.vm(rec.vmId)!;
    expect(vm).toMatchObject({ vmSize: 'Standard_D2s_v5', zones: ['1'], osCreateOption: 'Attach', resourceGroup: expect.stringMatching(/^restored$/i), powerState: 'running' });
    expect(vm.dataDisks.map((d) => ({ lun: d.lun, caching: d.caching, deleteOption: d.deleteOption }))).toEqual([
      { lun: 0, caching: 'ReadOnly', deleteOption: 'Delete' },
      { lun: 3, caching: 'None', deleteOption: 'Detach' },
    ]);
    const store = s.emulator.store;
    const attached: Record<string, string> = { '-1': vm.osDiskId, ...Object.fromEntries(vm.dataDisks.map((d) => [d.lun, d.diskId])) };
    for (const [lun, snap] of Object.entries(snapshots)) {
      const dst = EmulatorState.key(attached[lun]!),
        src = EmulatorState.key(snap);
      expect(store.get(dst)!.sizeBytes).toBe(store.get(src)!.sizeBytes);
      expect(fingerprint(store, dst), `disk at LUN ${lun}`).toBe(fingerprint(store, src));
      expect(contentDigest(store, dst)).not.toBe(contentDigest(store, EmulatorState.key(originals[lun === '-1' ? 0 : lun === '0' ? 1 : 2]!)));
      expect(s.emulator.state.disk(attached[lun]!)!.zones).toEqual(['1']);
    }
    const nic = s.emulator.state.nics.get(EmulatorState.key(rec.nicId))!;
    expect(nic).toMatchObject({ subnetId: SUBNET, virtualMachineId: vm.id, location: 'westeurope' });
    expect(vm.networkInterfaces).toEqual([{ id: nic.id, primary: true }]);
    // Through the app's own Compute adapter, as a caller of GET /vms would see it.
    expect((await s.deps.compute.getVm(rec.vmId))!.powerState).toBe('running');
    expect(s.emulator.state.grants.size).toBe(0);
    // The VM stays: it is what the caller asked for. Removed here so the next cases start clean.
    await s.deps.provisioning!.deleteVm(vm.id);
    await s.deps.provisioning!.deleteNic(nic.id);
    for (const id of Object.values(attached)) await s.deps.compute.deleteDisk(id);
    nothingLeft();
  });

  for (const [what, path, status, code] of [
    ['NIC', /networkInterfaces\/multi-r/, 400, 'InvalidResourceReference'],
    ['VM', /virtualMachines\/multi-r/, 409, 'SkuNotAvailable'],
  ] as const) {
    it(`a ${what} creation that Azure refuses (${status} ${code}) fails the job and deletes the VM, NIC and disks it made`, async () => {
      const job = await restore();
      s.emulator.faults.inject({ plane: 'arm', method: 'PUT', path, status, code, times: 20 });
      const failed = await run(job, 'Failed');
      s.emulator.faults.clear();
      expect(failed.error).toMatchObject({ code: 'NewVmCreateFailed', message: expect.stringContaining(code) });
      expect(newVmOf(failed)).toMatchObject({ vmId: expect.stringContaining('/virtualMachines/multi-r') });
      nothingLeft();
    });
  }

  it('refuses with 400/404/409 and a recommended action what cannot work, before any disk exists', async () => {
    const refusal = async (extra: Partial<RestoreRequest>, newVm: Partial<NonNullable<RestoreRequest['newVm']>> = {}) => {
      const err = await restore(extra, newVm).catch((e: unknown) => e as { code: string; recommendedAction: string });
      return { code: err.code, status: httpStatusFor(err), action: err.recommendedAction };
    };
    expect(await refusal({}, { subnetId: SUBNET.replace('default', 'gone') })).toMatchObject({ code: 'SubnetNotFound', status: 404 });
    expect(await refusal({}, { subnetId: SUBNET_WESTUS })).toMatchObject({ code: 'SubnetRegionMismatch', status: 409, action: expect.stringContaining('westus') });
    // West US has no availability zones: the original's zone 1 cannot be had there.
    expect(await refusal({}, { subnetId: SUBNET_WESTUS, targetLocation: 'westus' })).toMatchObject({ code: 'ZoneNotAvailable', status: 409 });
    s.emulator.skus.restrict('westeurope', 'Standard_D2s_v5', ['1']);
    expect(await refusal({})).toMatchObject({ code: 'ZoneNotAvailable', status: 409, action: expect.stringMatching(/another vmSize/) });
    s.emulator.skus.restrictions.clear();
    expect(await refusal({}, { vmSize: 'Standard_Unknown1' })).toMatchObject({ code: 'VmSizeNotAvailable', status: 409 });
    const point = (await s.deps.repos.points.get(itemKey, pointId))!.doc;
    await s.deps.repos.points.update(itemKey, pointId, (p) => {
      p.disks = p.disks.filter((d) => d.lun >= 0);
    });
    expect(await refusal({})).toMatchObject({ code: 'NewVmNoOsDisk', status: 409 });
    await s.deps.repos.points.update(itemKey, pointId, (p) => {
      p.disks = point.disks;
    });
    nothingLeft();
  });
});
