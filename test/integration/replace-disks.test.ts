import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAppStack, type AppStack } from '../support/app-stack';
import { SUB } from '../support/emulator';
import { EmulatorState } from '../../src/emulator/arm/state';
import type { VmSpec } from '../../src/emulator/admin';
import { contentDigest, fill, fingerprint, sha256 } from '../../src/emulator/guest';
import { backupNow, requestRegistration } from '../../src/core/workflows/protection/protection';
import { requestRestore } from '../../src/core/workflows/restore/restore';
import { replaceOf } from '../../src/core/workflows/restore/replace-swap';
import { getJob } from '../../src/core/jobs/jobs';
import { reconcile } from '../../src/core/jobs/reconciler';
import { itemKeyFor } from '../../src/core/store/layout';

const MIB = 1024 ** 2;

/**
 * Replace disks on the compute emulator through the real SDK over HTTP, under the rules Azure applies to VM
 * updates (AZURE-FIDELITY B2; sources in src/emulator/arm/vm-model.ts): createOption never changes
 * (Azure/azure-sdk-for-net#37285), no new managedDisk.id at a used LUN (Azure/azure-sdk-for-java#2925), OS disk
 * swap by id and name with the same generation, security type, encryption set and size (os-disk-swap.md), zonal
 * VMs take disks of their zone (jrudlin/Azure#7). Every failure must leave the VM running on its original disks.
 */
describe('replace disks as Azure accepts it (emulator, real SDK)', () => {
  let s: AppStack;
  beforeAll(async () => {
    s = await startAppStack({ VMBACKUP_SEGMENT_SIZE_MIB: '32' });
  });
  afterAll(async () => s?.stop());

  const vmSpec = (name: string, extra: Partial<VmSpec> = {}): VmSpec => ({
    subscriptionId: SUB,
    resourceGroup: 'rg',
    name,
    hyperVGeneration: 'V2',
    zones: ['2'],
    disks: [
      { name: `${name}-os`, sizeBytes: 64 * MIB, lun: -1 },
      { name: `${name}-d1`, sizeBytes: 48 * MIB, lun: 1, caching: 'None', deleteOption: 'Delete' },
      { name: `${name}-d4`, sizeBytes: 40 * MIB, lun: 4, caching: 'ReadWrite', writeAcceleratorEnabled: true },
    ],
    ...extra,
  });

  /** A registered, backed-up VM whose guest then writes on: the point differs from today's disks. */
  async function backedUp(spec: VmSpec): Promise<{ vmId: string; itemKey: string; pointId: string; before: { os: string; data: { lun: number; diskId: string }[] } }> {
    const vm = s.emulator.createVm(spec);
    const itemKey = itemKeyFor(vm.id);
    await requestRegistration(s.deps, [vm.id]);
    await s.drain();
    for (const id of [vm.osDiskId, ...vm.dataDisks.map((d) => d.diskId)]) fill(s.emulator.store, EmulatorState.key(id), MIB, 6 * MIB, 3);
    const job = await backupNow(s.deps, itemKey);
    await s.drain();
    expect((await getJob(s.deps, job.jobId)).status).toMatch(/^Completed/);
    for (const id of [vm.osDiskId, ...vm.dataDisks.map((d) => d.diskId)]) fill(s.emulator.store, EmulatorState.key(id), 0, 2 * MIB, 91);
    s.emulator.clock.advance(60_000);
    return { vmId: vm.id, itemKey, pointId: job.jobId, before: { os: vm.osDiskId, data: vm.dataDisks.map((d) => ({ lun: d.lun, diskId: d.diskId })) } };
  }

  const expectOnOriginals = (vmId: string, before: { os: string; data: { lun: number; diskId: string }[] }): void => {
    const vm = s.emulator.state.vm(vmId)!;
    expect(vm.powerState).toBe('running');
    expect(vm.osDiskId).toBe(before.os);
    expect(vm.dataDisks.map((d) => ({ lun: d.lun, diskId: d.diskId }))).toEqual(before.data);
  };

  it("swaps the disks of a running, image-based, Gen2, zonal VM and starts it again, keeping each attachment's settings", { timeout: 120_000 }, async () => {
    const { vmId, itemKey, pointId, before } = await backedUp(vmSpec('zvm1'));
    const job = await requestRestore(s.deps, { itemKey, pointId, mode: 'replaceDisks', source: 'vault' });
    await s.drain();
    const done = await getJob(s.deps, job.jobId);
    expect(done.status, JSON.stringify(done.error)).toBe('Completed');
    const vm = s.emulator.state.vm(vmId)!;
    expect(vm.powerState).toBe('running');
    expect(vm.osCreateOption).toBe('FromImage'); // never sent changed
    expect(vm.osDiskId).not.toBe(before.os);
    expect(s.emulator.state.disk(vm.osDiskId)!.hyperVGeneration).toBe('V2');
    expect(s.emulator.state.disk(vm.osDiskId)!.zones).toEqual(['2']);
    expect(vm.dataDisks.map((d) => [d.lun, d.caching, d.writeAcceleratorEnabled, d.deleteOption])).toEqual([
      [1, 'None', undefined, 'Delete'],
      [4, 'ReadWrite', true, 'Detach'],
    ]);
    const point = (await s.deps.repos.points.get(itemKey, pointId))!.doc;
    for (const d of point.disks) {
      const now = d.lun < 0 ? vm.osDiskId : vm.dataDisks.find((x) => x.lun === d.lun)!.diskId;
      expect(contentDigest(s.emulator.store, EmulatorState.key(now))).toBe(d.digest);
    }
    for (const id of [before.os, ...before.data.map((d) => d.diskId)]) expect(s.emulator.state.disk(id)!.state).toBe('Unattached'); // kept
    // The undo record: a snapshot of each original disk, taken before the VM was touched, with the current data.
    const undo = done.result.undo as { snapshots: { lun: number; diskId: string; snapshotId: string }[] };
    expect(undo.snapshots.map((u) => u.lun)).toEqual([-1, 1, 4]);
    for (const u of undo.snapshots) expect(contentDigest(s.emulator.store, EmulatorState.key(u.snapshotId))).toBe(contentDigest(s.emulator.store, EmulatorState.key(u.diskId)));
    expect(replaceOf(done)).toMatchObject({ wasRunning: true, inFlight: false, done: ['deallocated', 'osSwapped', 'dataDetached', 'dataAttached', 'started'] });
  });

  const guestStateSha = (id: string): string => sha256(s.emulator.store, EmulatorState.key(`${id}/guestState`));

  /**
   * A Trusted Launch OS disk goes back with its VM guest state: read at backup through getSecureVMGuestStateSAS
   * (Snapshots - Grant Access, securityDataAccessSAS), uploaded at restore into an UploadPreparedSecure disk through
   * the securityDataAccessSAS of Disks - Grant Access (https://learn.microsoft.com/rest/api/compute/disks/grant-access).
   */
  it("replaces the disks of a running Gen2 Trusted Launch zonal VM from the vault, the OS disk byte-exact with the source's guest state", { timeout: 120_000 }, async () => {
    const { vmId, itemKey, pointId, before } = await backedUp(vmSpec('tlvm', { securityType: 'TrustedLaunch' }));
    const point = (await s.deps.repos.points.get(itemKey, pointId))!.doc;
    const os = point.disks.find((d) => d.lun < 0)!;
    expect(os.guestState?.sha256).toBe(guestStateSha(before.os));
    expect(point.disks.filter((d) => d.lun >= 0).every((d) => d.guestState === undefined)).toBe(true);
    const job = await requestRestore(s.deps, { itemKey, pointId, mode: 'replaceDisks', source: 'vault' });
    await s.drain();
    const done = await getJob(s.deps, job.jobId);
    expect(done.status, JSON.stringify(done.error)).toBe('Completed');
    expect(done.result.source).not.toBe('snapshot');
    const vm = s.emulator.state.vm(vmId)!;
    expect(vm.powerState).toBe('running');
    expect(vm.osDiskId).not.toBe(before.os);
    const restored = s.emulator.state.disk(vm.osDiskId)!;
    expect(restored.creationData).toMatchObject({ createOption: 'UploadPreparedSecure' });
    expect(restored.securityProfile?.securityType).toBe('TrustedLaunch');
    expect(restored.zones).toEqual(['2']);
    // Byte-exact: the SHA-256 of every byte equals the source snapshot's (what the point copied).
    expect(fingerprint(s.emulator.store, EmulatorState.key(vm.osDiskId))).toBe(fingerprint(s.emulator.store, EmulatorState.key(os.sourceSnapshotId)));
    expect(contentDigest(s.emulator.store, EmulatorState.key(vm.osDiskId))).toBe(os.digest);
    expect(guestStateSha(vm.osDiskId)).toBe(guestStateSha(before.os));
    expect(s.emulator.state.grants.size).toBe(0);
  });

  it('a Trusted Launch point taken before guest states were kept still gets the clear refusal (409, nothing created)', { timeout: 120_000 }, async () => {
    const { vmId, itemKey, pointId, before } = await backedUp(vmSpec('tlold', { securityType: 'TrustedLaunch' }));
    await s.deps.repos.points.update(itemKey, pointId, (p) => {
      for (const d of p.disks) delete d.guestState;
    });
    const disksBefore = s.emulator.state.disks.size;
    await expect(requestRestore(s.deps, { itemKey, pointId, mode: 'replaceDisks', source: 'vault' })).rejects.toMatchObject({
      code: 'ReplaceSecurityTypeMismatch',
      message: expect.stringMatching(/taken before/),
      recommendedAction: expect.stringMatching(/source snapshots|newDisks/),
    });
    expect(s.emulator.state.disks.size).toBe(disksBefore);
    expectOnOriginals(vmId, before);
  });

  it('a Confidential VM keeps its refusal from the vault: its guest state is bound to keys a copy cannot carry', { timeout: 120_000 }, async () => {
    const { vmId, itemKey, pointId, before } = await backedUp(vmSpec('cvm', { securityType: 'ConfidentialVM' }));
    expect((await s.deps.repos.points.get(itemKey, pointId))!.doc.disks.every((d) => d.guestState === undefined)).toBe(true);
    await expect(requestRestore(s.deps, { itemKey, pointId, mode: 'replaceDisks', source: 'vault' })).rejects.toMatchObject({
      code: 'ReplaceSecurityTypeMismatch',
      message: expect.stringMatching(/Confidential VM.*keys/),
    });
    expectOnOriginals(vmId, before);
  });

  it('a mismatch found by the checks in the job (the VM changed generation meanwhile) touches nothing', { timeout: 120_000 }, async () => {
    const { vmId, itemKey, pointId, before } = await backedUp(vmSpec('zvm2'));
    const job = await requestRestore(s.deps, { itemKey, pointId, mode: 'replaceDisks', source: 'vault' });
    s.emulator.state.disk(before.os)!.hyperVGeneration = 'V1';
    const vmWrites = (): number => s.emulator.operations.list.filter((o) => o.method !== 'GET' && /virtualMachines\/zvm2(\/|$)/.test(o.path)).length;
    const writesBefore = vmWrites();
    await s.drain();
    const failed = await getJob(s.deps, job.jobId);
    expect(failed.status).toBe('Failed');
    expect(failed.error).toMatchObject({ code: 'ReplaceGenerationMismatch' });
    expect(replaceOf(failed)).toBeUndefined(); // never got as far as recording a swap
    expect(vmWrites()).toBe(writesBefore); // no update, deallocate or start reached the VM
    expectOnOriginals(vmId, before);
  });

  it('an ARM 409 on the detach update rolls back: the VM runs on its original disks, the job says why', { timeout: 120_000 }, async () => {
    const { vmId, itemKey, pointId, before } = await backedUp(vmSpec('zvm3'));
    const job = await requestRestore(s.deps, { itemKey, pointId, mode: 'replaceDisks', source: 'vault' });
    // The OS swap (first PATCH) passes, the detach (second) is refused.
    s.emulator.faults.inject({ plane: 'arm', method: 'PATCH', path: /virtualMachines\/zvm3$/, status: 409, code: 'OperationNotAllowed', after: 1 });
    await s.drain();
    const failed = await getJob(s.deps, job.jobId);
    expect(failed.status).toBe('Failed');
    expect(failed.error).toMatchObject({ code: 'ReplaceDisksRejected', message: expect.stringMatching(/OperationNotAllowed \(409\).*original disks/) });
    expect(replaceOf(failed)).toMatchObject({ inFlight: false, attempts: 1, history: [{ attempt: 1, rolledBack: true }] });
    expectOnOriginals(vmId, before);
  });

  it('a crash between steps (deallocated, OS swapped, data detached, rollback cut too) is rolled back by the next delivery, which then completes', { timeout: 120_000 }, async () => {
    const { vmId, itemKey, pointId, before } = await backedUp(vmSpec('zvm4'));
    const job = await requestRestore(s.deps, { itemKey, pointId, mode: 'replaceDisks', source: 'vault' });
    // The attach update and the rollback's first update fail (503, each through the SDK's own retries: 4
    // requests): the delivery stops with the VM half-swapped, as if the process had died there.
    s.emulator.faults.inject({ plane: 'arm', method: 'PATCH', path: /virtualMachines\/zvm4$/, status: 503, retryAfter: 0, after: 2, times: 8 });
    await s.drain();
    const done = await getJob(s.deps, job.jobId);
    expect(done.status, JSON.stringify(done.error)).toBe('Completed');
    const rec = replaceOf(done)!;
    expect(rec.wasRunning).toBe(true); // saved once: the delivery after the crash found the VM deallocated
    expect(rec.attempts).toBe(2);
    expect(rec.history).toEqual([{ attempt: 1, failure: expect.stringMatching(/interrupted/), rolledBack: true }]);
    const vm = s.emulator.state.vm(vmId)!;
    expect(vm.powerState).toBe('running');
    expect(vm.osDiskId).not.toBe(before.os);
  });

  it('a crash on every delivery fails the job; once ARM answers again the reconciler puts the VM back on its original disks', { timeout: 180_000 }, async () => {
    const { vmId, itemKey, pointId, before } = await backedUp(vmSpec('zvm5'));
    const job = await requestRestore(s.deps, { itemKey, pointId, mode: 'replaceDisks', source: 'vault' });
    s.emulator.faults.inject({ plane: 'arm', method: 'PATCH', path: /virtualMachines\/zvm5$/, status: 503, retryAfter: 0, after: 2, times: 1000 });
    await s.drain();
    const failed = await getJob(s.deps, job.jobId);
    expect(failed.status).toBe('Failed');
    expect(replaceOf(failed)!.inFlight).toBe(true); // the rollback could not run yet
    expect(s.emulator.state.vm(vmId)!.powerState).toBe('deallocated');
    s.emulator.faults.clear();
    await reconcile(s.deps);
    expectOnOriginals(vmId, before);
    expect(replaceOf(await getJob(s.deps, job.jobId))).toMatchObject({ inFlight: false, history: [{ rolledBack: true }] });
  });
});
