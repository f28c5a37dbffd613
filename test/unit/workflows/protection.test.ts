import { describe, expect, it } from 'vitest';
import { backupNow, requestProtection, requestRegistration, stopProtection } from '../../../src/core/workflows/protection/protection';
import { createPolicy } from '../../../src/core/workflows/protection/policies';
import { httpStatusFor } from '../../../src/core/errors';
import { getJob } from '../../../src/core/jobs/jobs';
import { itemKeyFor } from '../../../src/core/store/layout';
import { memoryDeps, MIB, SUB } from '../../support/memory-deps';
import { DAILY_POLICY, finished, registeredVm } from '../../support/memory-fixtures';

const refusal = async (p: Promise<unknown>): Promise<{ status: number; code: string }> => {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err, 'the call was refused').toBeDefined();
  return { status: httpStatusFor(err), code: (err as { code: string }).code };
};

describe('protection workflows (memory adapters)', () => {
  it('registers a VM (Registered), protects it (ProtectionPending, Protected after its first point)', async () => {
    const s = memoryDeps();
    await createPolicy(s.deps, DAILY_POLICY);
    const vm = await registeredVm(s);
    const item = (await s.deps.repos.items.get(vm.itemKey))!.doc;
    expect(item.state).toBe('Registered');
    expect(item.disks.map((d) => [d.diskKey, d.sizeBytes])).toEqual([
      ['os', 32 * MIB],
      ['lun-0', 24 * MIB],
    ]);
    const [job] = await requestProtection(s.deps, [vm.itemKey], 'daily');
    await s.drain();
    await finished(s, job!.jobId);
    expect((await s.deps.repos.items.get(vm.itemKey))!.doc).toMatchObject({ state: 'ProtectionPending', policyName: 'daily' });
    const b = await backupNow(s.deps, vm.itemKey);
    await s.drain();
    await finished(s, b.jobId);
    expect((await s.deps.repos.items.get(vm.itemKey))!.doc.state).toBe('Protected');
  });

  it('fails a second registration of the same VM with AlreadyRegistered', async () => {
    const s = memoryDeps();
    const vm = await registeredVm(s);
    const [again] = await requestRegistration(s.deps, [vm.vmId]);
    await s.drain();
    expect((await finished(s, again!.jobId, 'Failed')).error!.code).toBe('AlreadyRegistered');
  });

  it('fails registration of a missing VM and a stopped VM under a policy that runs scripts, and admits an Ultra disk', async () => {
    const s = memoryDeps();
    await createPolicy(s.deps, { ...DAILY_POLICY, name: 'app', consistency: { mode: 'ApplicationConsistent' } });
    const ultra = s.cloud.createVm({ subscriptionId: SUB, resourceGroup: 'rg', name: 'ultra', disks: [{ name: 'u-os', sizeBytes: 32 * MIB, lun: -1, sku: 'UltraSSD_LRS' }] });
    const stopped = s.cloud.createVm({ subscriptionId: SUB, resourceGroup: 'rg', name: 'off', powerState: 'deallocated', disks: [{ name: 'o-os', sizeBytes: 32 * MIB, lun: -1 }] });
    const missing = `/subscriptions/${SUB}/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/ghost`;
    const jobs = [...(await requestRegistration(s.deps, [missing])), ...(await requestRegistration(s.deps, [ultra.id])), ...(await requestRegistration(s.deps, [stopped.id], 'app'))];
    await s.drain();
    const codes = await Promise.all(jobs.map(async (j) => (await getJob(s.deps, j.jobId)).error?.code));
    // Ultra and Premium SSD v2 snapshots are waited for until their background copy completes (backup/readiness.ts).
    expect(codes).toEqual(['VmNotFound', undefined, 'GuestAgentNotReady']);
    expect((await getJob(s.deps, jobs[1]!.jobId)).status).toBe('Completed');
    expect(await s.deps.repos.items.get(itemKeyFor(ultra.id))).toBeDefined();
  });

  it('refuses a registration with a bad VM id (400) or an unknown policy (404) before any job', async () => {
    const s = memoryDeps();
    expect(await refusal(requestRegistration(s.deps, ['not-an-id']))).toEqual({ status: 400, code: 'InvalidRequest' });
    expect(await refusal(requestRegistration(s.deps, [`/subscriptions/${SUB}/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/x`], 'nope'))).toEqual({
      status: 404,
      code: 'PolicyNotFound',
    });
    expect(await s.deps.repos.jobs.all()).toEqual([]);
  });

  it('stops protection and retains the data: ProtectionStopped, points still Available', async () => {
    const s = memoryDeps();
    await createPolicy(s.deps, DAILY_POLICY);
    const vm = await registeredVm(s, 'vm1', { policyName: 'daily' });
    const b = await backupNow(s.deps, vm.itemKey);
    await s.drain();
    await finished(s, b.jobId);
    const item = await stopProtection(s.deps, vm.itemKey, false);
    expect(item).toMatchObject({ state: 'ProtectionStopped', policyName: undefined });
    expect((await s.deps.repos.points.all(vm.itemKey)).map((p) => p.state)).toEqual(['Available']);
  });

  it('stops protection and deletes the data: points soft-deleted, backup-now refused 409', async () => {
    const s = memoryDeps();
    const vm = await registeredVm(s);
    const b = await backupNow(s.deps, vm.itemKey);
    await s.drain();
    await finished(s, b.jobId);
    await stopProtection(s.deps, vm.itemKey, true);
    const points = await s.deps.repos.points.all(vm.itemKey);
    expect(points.map((p) => [p.state, p.deletedAt?.getTime()])).toEqual([['SoftDeleted', s.clock.ms]]);
    expect(await refusal(backupNow(s.deps, vm.itemKey))).toEqual({ status: 409, code: 'ProtectionStopped' });
  });

  it('answers 409 AnotherOperationInProgress to stop and backup-now while a job holds the item', async () => {
    const s = memoryDeps();
    const vm = await registeredVm(s);
    await s.deps.repos.items.update(vm.itemKey, (i) => {
      i.lockOwner = 'running-job';
      i.lockExpiresAt = new Date(s.clock.ms + 60_000);
    });
    expect(await refusal(stopProtection(s.deps, vm.itemKey, false))).toEqual({ status: 409, code: 'AnotherOperationInProgress' });
    expect(await refusal(backupNow(s.deps, vm.itemKey))).toEqual({ status: 409, code: 'AnotherOperationInProgress' });
    expect((await s.deps.repos.items.get(vm.itemKey))!.doc.state).toBe('Registered');
    // The lock is a lease: once it runs out, the item is free again.
    s.clock.advance(61_000);
    expect((await stopProtection(s.deps, vm.itemKey, false)).state).toBe('ProtectionStopped');
  });

  it('refuses a backup-now retention date in the past (400)', async () => {
    const s = memoryDeps();
    const vm = await registeredVm(s);
    expect(await refusal(backupNow(s.deps, vm.itemKey, new Date(s.clock.ms - 1)))).toEqual({ status: 400, code: 'InvalidRequest' });
  });
});
