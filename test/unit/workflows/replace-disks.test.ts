import { describe, expect, it } from 'vitest';
import { backupNow } from '../../../src/core/workflows/protection/protection';
import { requestRestore } from '../../../src/core/workflows/restore/restore';
import { replaceOf } from '../../../src/core/workflows/restore/replace-swap';
import { MemoryServiceError } from '../../../src/core/adapters/memory/pages';
import { httpStatusFor } from '../../../src/core/errors';
import { reconcile } from '../../../src/core/jobs/reconciler';
import { failing, memoryDeps, MIB, type MemoryStack } from '../../support/memory-deps';
import { finished, pattern, registeredVm, type TestVm } from '../../support/memory-fixtures';

/**
 * The branches of a replace on memory adapters (the rules are the compute emulator's, see
 * src/core/adapters/memory/vm-disks.ts; the same paths over real HTTP are in test/integration/replace-disks.test.ts).
 */
async function backedUp(s: MemoryStack): Promise<{ vm: TestVm; pointId: string; os: Buffer }> {
  const vm = await registeredVm(s);
  const cloudVm = s.cloud.vm(vm.vmId)!;
  cloudVm.dataDisks[0]!.caching = 'None';
  cloudVm.dataDisks[0]!.deleteOption = 'Delete';
  const os = s.cloud.readDisk(vm.osDiskId);
  const job = await backupNow(s.deps, vm.itemKey);
  await s.drain();
  await finished(s, job.jobId);
  s.cloud.writeDisk(vm.osDiskId, 0, pattern(MIB, 99));
  return { vm, pointId: job.jobId, os };
}

const onOriginals = (s: MemoryStack, vm: TestVm, power = 'running'): void => {
  const now = s.cloud.vm(vm.vmId)!;
  expect(now.powerState).toBe(power);
  expect(now.osDiskId).toBe(vm.osDiskId);
  expect(now.dataDisks.map((d) => d.diskId)).toEqual([vm.dataDiskId]);
};

const armError = (status: number, code: string) => () => new MemoryServiceError(status, code, `Injected ${code}.`);

describe('replace disks workflow (memory adapters)', () => {
  it('checks, snapshots the current disks, swaps, attaches with the old settings and starts once; the record is written once', async () => {
    const s = memoryDeps();
    const { vm, pointId, os } = await backedUp(s);
    const job = await requestRestore(s.deps, { itemKey: vm.itemKey, pointId, mode: 'replaceDisks', source: 'vault' });
    await s.drain();
    const done = await finished(s, job.jobId);
    const now = s.cloud.vm(vm.vmId)!;
    expect(now.powerState).toBe('running');
    expect(s.cloud.readDisk(now.osDiskId).equals(os)).toBe(true);
    expect(now.dataDisks).toMatchObject([{ lun: 0, caching: 'None', deleteOption: 'Delete' }]);
    expect(now.dataDisks[0]!.diskId).not.toBe(vm.dataDiskId);
    const rec = replaceOf(done)!;
    expect(rec).toMatchObject({ wasRunning: true, inFlight: false, attempts: 1, original: { os: { diskId: vm.osDiskId } } });
    const undo = done.result.undo as { snapshots: { diskId: string; snapshotId: string }[] };
    expect(undo.snapshots.map((u) => u.diskId)).toEqual([vm.osDiskId, vm.dataDiskId]);
    // The undo snapshot of the OS disk holds what the VM had before the replace (the guest's later write too).
    expect(s.cloud.snapshot(undo.snapshots[0]!.snapshotId)!.content.read({ start: 0, end: MIB }).equals(pattern(MIB, 99))).toBe(true);
    expect(s.cloud.disk(vm.osDiskId)!.state).toBe('Unattached');
  });

  it('a deallocated VM is swapped as it is and left deallocated', async () => {
    const s = memoryDeps();
    const { vm, pointId } = await backedUp(s);
    s.cloud.vm(vm.vmId)!.powerState = 'deallocated';
    const job = await requestRestore(s.deps, { itemKey: vm.itemKey, pointId, mode: 'replaceDisks', source: 'vault' });
    await s.drain();
    const rec = replaceOf(await finished(s, job.jobId))!;
    expect(rec).toMatchObject({ wasRunning: false, done: ['osSwapped', 'dataDetached', 'dataAttached'] });
    expect(s.cloud.vm(vm.vmId)!.powerState).toBe('deallocated');
  });

  it('refuses at request time with 409 and a recommended action: Trusted Launch VM, OS disk resized since the point', async () => {
    const s = memoryDeps();
    const { vm, pointId } = await backedUp(s);
    s.cloud.vm(vm.vmId)!.securityType = 'TrustedLaunch';
    const tl = await requestRestore(s.deps, { itemKey: vm.itemKey, pointId, mode: 'replaceDisks', source: 'vault' }).catch((e: unknown) => e);
    expect(tl).toMatchObject({ code: 'ReplaceSecurityTypeMismatch' });
    expect(httpStatusFor(tl)).toBe(409);
    s.cloud.vm(vm.vmId)!.securityType = undefined;
    s.cloud.disk(vm.osDiskId)!.sizeBytes = 64 * MIB;
    await expect(requestRestore(s.deps, { itemKey: vm.itemKey, pointId, mode: 'replaceDisks', source: 'vault' })).rejects.toMatchObject({
      code: 'ReplaceSizeMismatch',
      recommendedAction: expect.stringMatching(/newDisks/),
    });
    expect(await s.deps.repos.jobs.all({ where: { type: 'Restore' } })).toEqual([]);
    onOriginals(s, vm);
  });

  it('a mismatch found in the job (zone, generation) fails it before the VM is touched', async () => {
    for (const change of [
      (s: MemoryStack, vm: TestVm) => {
        s.cloud.vm(vm.vmId)!.zones = ['3'];
      },
      (s: MemoryStack, vm: TestVm) => {
        s.cloud.disk(vm.osDiskId)!.hyperVGeneration = 'V2';
      },
    ]) {
      const s = memoryDeps();
      const { vm, pointId } = await backedUp(s);
      const job = await requestRestore(s.deps, { itemKey: vm.itemKey, pointId, mode: 'replaceDisks', source: 'vault' });
      change(s, vm);
      await s.drain();
      const failed = await finished(s, job.jobId, 'Failed');
      expect(failed.error!.code).toMatch(/^Replace(Zone|Generation)Mismatch$/);
      expect(replaceOf(failed)).toBeUndefined();
      expect([...s.cloud.snapshots.values()].filter((x) => x.name.includes('-undo'))).toEqual([]);
      onOriginals(s, vm);
    }
  });

  it("an ARM refusal (409) of the attach rolls back at once and fails the job with Azure's code", async () => {
    const s = memoryDeps();
    const { vm, pointId } = await backedUp(s);
    const job = await requestRestore(s.deps, { itemKey: vm.itemKey, pointId, mode: 'replaceDisks', source: 'vault' });
    s.deps.compute = failing(s.deps.compute, 'attachDataDisks', armError(409, 'OperationNotAllowed'), 1);
    await s.drain();
    const failed = await finished(s, job.jobId, 'Failed');
    expect(failed.error).toMatchObject({ code: 'ReplaceDisksRejected', message: expect.stringMatching(/OperationNotAllowed \(409\)/) });
    expect(replaceOf(failed)).toMatchObject({ inFlight: false, history: [{ attempt: 1, rolledBack: true }] });
    onOriginals(s, vm);
    expect(s.cloud.vm(vm.vmId)!.dataDisks[0]).toMatchObject({ caching: 'None', deleteOption: 'Delete' }); // re-attached as it was
  });

  it('a crash after the detach (the rollback cut too) is rolled back by the next delivery, which keeps wasRunning and completes', async () => {
    const s = memoryDeps();
    const { vm, pointId } = await backedUp(s);
    const job = await requestRestore(s.deps, { itemKey: vm.itemKey, pointId, mode: 'replaceDisks', source: 'vault' });
    const down = failing(s.deps.compute, 'attachDataDisks', armError(503, 'ServerBusy'), 1);
    // The first swap passes; the rollback's swap back fails once, as if the process had died mid-way.
    let swaps = 0;
    const swap = down.swapOsDisk.bind(down);
    down.swapOsDisk = async (id, d) => {
      if (++swaps === 2) throw armError(503, 'ServerBusy')();
      return swap(id, d);
    };
    s.deps.compute = down;
    await s.drain();
    const done = await finished(s, job.jobId);
    const rec = replaceOf(done)!;
    expect(rec).toMatchObject({ wasRunning: true, attempts: 2, history: [{ attempt: 1, failure: expect.stringMatching(/interrupted/), rolledBack: true }] });
    expect(s.cloud.vm(vm.vmId)!.powerState).toBe('running');
    expect(s.cloud.vm(vm.vmId)!.osDiskId).not.toBe(vm.osDiskId);
  });

  it('a transient failure on every delivery: each attempt is rolled back, the last fails the job, the VM runs on its original disks', async () => {
    const s = memoryDeps();
    const { vm, pointId } = await backedUp(s);
    const job = await requestRestore(s.deps, { itemKey: vm.itemKey, pointId, mode: 'replaceDisks', source: 'vault' });
    s.deps.compute = failing(s.deps.compute, 'detachDataDisks', armError(503, 'ServerBusy'));
    await s.drain({ maxDequeueCount: 3 });
    const failed = await finished(s, job.jobId, 'Failed');
    expect(replaceOf(failed)).toMatchObject({ inFlight: false, wasRunning: true, attempts: 3 });
    expect(replaceOf(failed)!.history.map((h) => h.rolledBack)).toEqual([true, true, true]);
    onOriginals(s, vm);
  });

  it("when ARM also refuses the rollback, the job's cleanup leaves it to the reconciler: the record stays in flight", async () => {
    const s = memoryDeps();
    const { vm, pointId } = await backedUp(s);
    const job = await requestRestore(s.deps, { itemKey: vm.itemKey, pointId, mode: 'replaceDisks', source: 'vault' });
    const real = s.deps.compute;
    s.deps.compute = failing(real, 'attachDataDisks', armError(503, 'ServerBusy'));
    await s.drain({ maxDequeueCount: 2 });
    const failed = await finished(s, job.jobId, 'Failed');
    expect(replaceOf(failed)!.inFlight).toBe(true);
    s.deps.compute = real; // ARM answers again: the reconciler's sweep re-runs the cleanup
    await reconcile(s.deps);
    onOriginals(s, vm);
    expect(replaceOf(await finished(s, job.jobId, 'Failed'))!.inFlight).toBe(false);
  });
});
