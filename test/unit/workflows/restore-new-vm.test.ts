import { describe, expect, it } from 'vitest';
import { backupNow } from '../../../src/core/workflows/protection/protection';
import { requestRestore, type RestoreRequest } from '../../../src/core/workflows/restore/restore';
import { newVmOf } from '../../../src/core/workflows/restore/new-vm';
import { MemoryServiceError } from '../../../src/core/adapters/memory/pages';
import { httpStatusFor } from '../../../src/core/errors';
import { reconcile } from '../../../src/core/jobs/reconciler';
import { RestoreBody } from '../../../src/functions/lib/schemas';
import { failing, memoryDeps, SUB, type MemoryStack } from '../../support/memory-deps';
import { finished, registeredVm, type TestVm } from '../../support/memory-fixtures';

/**
 * A restore to a new VM on memory adapters (the rules are the emulator's, see src/core/adapters/memory/
 * provisioning.ts; the same over real HTTP with byte-exact disks is test/integration/restore-new-vm.test.ts).
 */
const SUBNET = `/subscriptions/${SUB}/resourceGroups/net/providers/Microsoft.Network/virtualNetworks/vnet1/subnets/default`;

async function backedUp(s: MemoryStack, zone?: string): Promise<{ vm: TestVm; pointId: string }> {
  const vm = await registeredVm(s);
  const cloudVm = s.cloud.vm(vm.vmId)!;
  cloudVm.dataDisks[0]!.caching = 'ReadOnly';
  cloudVm.dataDisks[0]!.deleteOption = 'Delete';
  if (zone) {
    cloudVm.zones = [zone];
    for (const id of [vm.osDiskId, vm.dataDiskId]) s.cloud.disk(id)!.zones = [zone];
  }
  s.provisioning.addSubnet(SUBNET, 'westeurope');
  s.provisioning.offer('westeurope', 'Standard_D2s_v5', ['1', '2', '3']);
  const job = await backupNow(s.deps, vm.itemKey);
  await s.drain();
  await finished(s, job.jobId);
  return { vm, pointId: job.jobId };
}

const newVm = (vm: TestVm, pointId: string, extra: Partial<NonNullable<RestoreRequest['newVm']>> = {}): RestoreRequest => ({
  itemKey: vm.itemKey,
  pointId,
  mode: 'newVm',
  newVm: { subnetId: SUBNET, vmSize: 'Standard_D2s_v5', ...extra },
});

/** Only the original VM's disks, VMs and no NIC: what a failed new-VM restore must leave. */
function nothingLeft(s: MemoryStack, vm: TestVm): void {
  expect([...s.cloud.vms.values()].map((v) => v.id)).toEqual([vm.vmId]);
  expect([...s.cloud.disks.values()].map((d) => d.id).sort()).toEqual([vm.osDiskId, vm.dataDiskId].sort());
  expect([...s.provisioning.nics.values()]).toEqual([]);
}

describe('restore to a new VM (memory adapters)', () => {
  it("creates a NIC in the subnet and a running VM on the restored disks, with the point's LUNs, caching, delete option and zone", async () => {
    const s = memoryDeps();
    const { vm, pointId } = await backedUp(s, '2');
    const job = await requestRestore(s.deps, newVm(vm, pointId));
    expect(job.params).toMatchObject({ mode: 'newVm', newVm: { subnetId: SUBNET, vmSize: 'Standard_D2s_v5', zone: '2' } });
    await s.drain();
    const done = await finished(s, job.jobId);
    const rec = newVmOf(done)!;
    expect(rec).toMatchObject({ powerState: 'running', vmId: expect.stringMatching(/\/virtualMachines\/vm1-r/), nicId: expect.stringMatching(/networkInterfaces\/vm1-r.*-nic$/) });
    const made = s.cloud.vm(rec.vmId)!;
    expect(made).toMatchObject({ zones: ['2'], osCreateOption: 'Attach', powerState: 'running' });
    expect(made.dataDisks).toMatchObject([{ lun: 0, caching: 'ReadOnly', deleteOption: 'Delete' }]);
    // The restored disks, byte for byte the originals (nothing was written on the source since the backup).
    expect(s.cloud.readDisk(made.osDiskId).equals(s.cloud.readDisk(vm.osDiskId))).toBe(true);
    expect(s.cloud.readDisk(made.dataDisks[0]!.diskId).equals(s.cloud.readDisk(vm.dataDiskId))).toBe(true);
    expect(made.osDiskId).not.toBe(vm.osDiskId);
    expect((await s.provisioning.getNic(rec.nicId))!.virtualMachineId).toBe(made.id);
    expect(s.cloud.vm(vm.vmId)!.powerState).toBe('running'); // the original is not touched
  });

  it('a redelivery after a throttled VM create converges on one NIC and one VM (GET before PUT, names from the job id)', async () => {
    const s = memoryDeps();
    const { vm, pointId } = await backedUp(s);
    const job = await requestRestore(s.deps, newVm(vm, pointId));
    const flaky = failing(s.provisioning, 'createVm', () => new MemoryServiceError(429, 'TooManyRequests', 'Throttled.'), 1);
    s.deps.provisioning = flaky;
    await s.drain();
    await finished(s, job.jobId);
    expect(flaky.calls).toBe(2);
    expect(s.cloud.vms.size).toBe(2);
    expect(s.provisioning.nics.size).toBe(1);
  });

  for (const [step, method, status, code] of [
    ['NIC', 'createNic', 400, 'InvalidResourceReference'],
    ['VM', 'createVm', 409, 'SkuNotAvailable'],
  ] as const) {
    it(`a refusal of the ${step} (${status} ${code}) fails the job and leaves nothing behind`, async () => {
      const s = memoryDeps();
      const { vm, pointId } = await backedUp(s);
      const job = await requestRestore(s.deps, newVm(vm, pointId));
      s.deps.provisioning = failing(s.provisioning, method, () => new MemoryServiceError(status, code, `Injected ${code}.`));
      await s.drain();
      const failed = await finished(s, job.jobId, 'Failed');
      expect(failed.error).toMatchObject({ code: 'NewVmCreateFailed', message: expect.stringContaining(code) });
      nothingLeft(s, vm);
      // The sweep runs the same cleanup again: a no-op on what is gone.
      await reconcile(s.deps);
      nothingLeft(s, vm);
    });
  }

  it('a cancel before the finish step deletes the disks it made and creates no VM', async () => {
    const s = memoryDeps();
    const { vm, pointId } = await backedUp(s);
    const job = await requestRestore(s.deps, newVm(vm, pointId));
    await s.deps.repos.jobs.update(job.jobId, (j) => {
      j.cancelRequested = true;
    });
    await s.drain();
    await finished(s, job.jobId, 'Cancelled');
    nothingLeft(s, vm);
  });

  it('refuses what cannot work before any disk is made: 400, 404 and 409 with what to do', async () => {
    const s = memoryDeps();
    const { vm, pointId } = await backedUp(s, '3');
    const refusal = async (req: RestoreRequest) => {
      const err = await requestRestore(s.deps, req).catch((e: unknown) => e as { code: string; recommendedAction: string });
      return { code: err.code, status: httpStatusFor(err), action: err.recommendedAction };
    };
    expect(await refusal(newVm(vm, pointId, { subnetId: '' }))).toMatchObject({ status: 400 });
    expect(await refusal(newVm(vm, pointId, { subnetId: SUBNET.replace('default', 'nope') }))).toMatchObject({ code: 'SubnetNotFound', status: 404 });
    s.provisioning.addSubnet(SUBNET.replace('vnet1', 'vnet-ne'), 'northeurope');
    expect(await refusal(newVm(vm, pointId, { subnetId: SUBNET.replace('vnet1', 'vnet-ne') }))).toMatchObject({
      code: 'SubnetRegionMismatch',
      status: 409,
      action: expect.stringContaining('northeurope'),
    });
    expect(await refusal(newVm(vm, pointId, { vmSize: undefined }))).toMatchObject({ code: 'VmSizeUnknown', status: 409 });
    expect(await refusal(newVm(vm, pointId, { vmSize: 'Standard_Nope' }))).toMatchObject({ code: 'VmSizeNotAvailable', status: 409 });
    s.provisioning.offer('westeurope', 'Standard_D2s_v5', ['1', '2']);
    expect(await refusal(newVm(vm, pointId))).toMatchObject({ code: 'ZoneNotAvailable', status: 409, action: expect.stringMatching(/zone 3/) });
    s.provisioning.offer('westeurope', 'Standard_D2s_v5', ['1', '2', '3']);
    expect(await refusal(newVm(vm, pointId, { targetSubscriptionId: '11111111-1111-1111-1111-111111111111' }))).toMatchObject({ code: 'TargetSubscriptionNotConfigured', status: 409 });
    await s.deps.repos.points.update(vm.itemKey, pointId, (p) => {
      p.disks = p.disks.filter((d) => d.lun >= 0);
    });
    expect(await refusal(newVm(vm, pointId))).toMatchObject({ code: 'NewVmNoOsDisk', status: 409 });
    expect(await s.deps.repos.jobs.all({ where: { type: 'Restore' } })).toEqual([]);
    expect(s.cloud.disks.size).toBe(2);
  });

  it('restores into another region when the caller names it and a subnet there: disks, NIC and VM all in that region', async () => {
    const s = memoryDeps();
    const { vm, pointId } = await backedUp(s);
    const ne = SUBNET.replace('vnet1', 'vnet-ne');
    s.provisioning.addSubnet(ne, 'northeurope');
    s.provisioning.offer('northeurope', 'Standard_D2s_v5', ['1', '2', '3']);
    const job = await requestRestore(s.deps, newVm(vm, pointId, { subnetId: ne, targetLocation: 'northeurope' }));
    await s.drain();
    const rec = newVmOf(await finished(s, job.jobId))!;
    const made = s.cloud.vm(rec.vmId)!;
    expect(made.location).toBe('northeurope');
    expect([made.osDiskId, ...made.dataDisks.map((d) => d.diskId)].map((id) => s.cloud.disk(id)!.location)).toEqual(['northeurope', 'northeurope']);
    expect(s.cloud.readDisk(made.osDiskId).equals(s.cloud.readDisk(vm.osDiskId))).toBe(true);
  });

  it('the request body: newVm needs subnetId, the newVm fields belong to newVm only, another subscription needs a resource group', () => {
    expect(RestoreBody.safeParse({ mode: 'newVm' }).success).toBe(false);
    expect(RestoreBody.safeParse({ mode: 'newVm', subnetId: SUBNET }).success).toBe(true);
    expect(RestoreBody.safeParse({ mode: 'newVm', subnetId: '/subscriptions/x/resourceGroups/y/providers/Microsoft.Compute/disks/z' }).success).toBe(false);
    expect(RestoreBody.safeParse({ mode: 'newDisks', vmSize: 'Standard_D2s_v5' }).success).toBe(false);
    expect(RestoreBody.safeParse({ mode: 'newVm', subnetId: SUBNET, targetSubscriptionId: SUB.replace(/a/g, 'b') }).success).toBe(false);
    expect(RestoreBody.safeParse({ mode: 'newVm', subnetId: SUBNET, targetSubscriptionId: SUB.replace(/a/g, 'b'), targetResourceGroup: 'rg2' }).success).toBe(true);
  });
});
