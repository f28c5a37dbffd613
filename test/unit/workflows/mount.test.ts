import { describe, expect, it } from 'vitest';
import { backupNow } from '../../../src/core/workflows/protection/protection';
import { getMount, requestMount, requestUnmount } from '../../../src/core/workflows/mount/mount';
import { mountOf, type MountedDisk } from '../../../src/core/workflows/mount/plan';
import { reconcile } from '../../../src/core/jobs/reconciler';
import { getJob } from '../../../src/core/jobs/jobs';
import { requestCancel } from '../../../src/core/jobs/run-step';
import { httpStatusFor, VmBackupError } from '../../../src/core/errors';
import type { ComputePort } from '../../../src/core/ports/compute';
import { failing, memoryDeps, MIB, SUB, type MemoryStack } from '../../support/memory-deps';
import { finished, pattern, registeredVm, type TestVm } from '../../support/memory-fixtures';

const HOUR = 3_600_000;

async function backedUp(s: MemoryStack): Promise<{ vm: TestVm; pointId: string; os: Buffer; data: Buffer; helperId: string }> {
  const vm = await registeredVm(s);
  const os = s.cloud.readDisk(vm.osDiskId),
    data = s.cloud.readDisk(vm.dataDiskId);
  const job = await backupNow(s.deps, vm.itemKey);
  await s.drain();
  await finished(s, job.jobId);
  s.cloud.writeDisk(vm.dataDiskId, 0, pattern(MIB, 77)); // written after the point: not what a mount shows
  const helper = s.cloud.createVm({ subscriptionId: SUB, resourceGroup: 'helpers', name: 'helper', disks: [{ name: 'helper-os', sizeBytes: 32 * MIB, lun: -1 }] });
  return { vm, pointId: job.jobId, os, data, helperId: helper.id };
}

/** Every disk in the cloud that is neither the VM's nor the helper's own: what a mount left behind. */
const extraDisks = (s: MemoryStack, before: Set<string>): string[] => [...s.cloud.disks.keys()].filter((k) => !before.has(k));

async function refusal(p: Promise<unknown>): Promise<{ status: number; code: string }> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(VmBackupError);
  return { status: httpStatusFor(err), code: (err as VmBackupError).code };
}

describe('mount a recovery point for file recovery (memory adapters)', () => {
  it("attaches the point's disks to the helper at free LUNs, read-only cached, and takes them away on unmount", async () => {
    const s = memoryDeps();
    const { vm, pointId, os, data, helperId } = await backedUp(s);
    const before = new Set(s.cloud.disks.keys());
    const job = await requestMount(s.deps, { itemKey: vm.itemKey, pointId, helperVmId: helperId });
    await s.drain();
    await finished(s, job.jobId);
    const view = await getMount(s.deps, job.jobId);
    expect(view.state).toBe('Mounted');
    expect(view.disks!.map((d) => d.lun).sort()).toEqual([0, 1]);
    const helper = s.cloud.vm(helperId)!;
    expect(helper.dataDisks.map((d) => ({ lun: d.lun, caching: d.caching }))).toEqual([
      { lun: 0, caching: 'ReadOnly' },
      { lun: 1, caching: 'ReadOnly' },
    ]);
    const byKey = (k: string): MountedDisk => view.disks!.find((d) => d.diskKey === k)!;
    expect(s.cloud.readDisk(byKey('os').diskId).equals(os)).toBe(true);
    expect(s.cloud.readDisk(byKey('lun-0').diskId).equals(data)).toBe(true);
    expect(view.commands.some((c) => c.includes(`mount -o ro /dev/disk/azure/scsi1/lun${byKey('lun-0').lun}-part1`))).toBe(true);
    expect(Date.parse(view.expiresAt!) - Date.parse(view.mountedAt!)).toBe(HOUR);
    // The item is free while mounted: a mount holds no lock, so backups go on.
    expect((await s.deps.repos.items.get(vm.itemKey))!.doc.lockOwner).toBeUndefined();
    expect((await requestUnmount(s.deps, job.jobId)).state).toBe('Unmounting');
    await s.drain();
    const after = await getMount(s.deps, job.jobId);
    expect(after).toMatchObject({ state: 'Unmounted', unmountReason: 'Requested', commands: [] });
    expect(s.cloud.vm(helperId)!.dataDisks).toEqual([]);
    expect(extraDisks(s, before)).toEqual([]);
    // A second unmount answers the state and changes nothing.
    expect((await requestUnmount(s.deps, job.jobId)).state).toBe('Unmounted');
  });

  it('unmounts at its deadline at the first reconciler run after it, even one that comes late', async () => {
    const s = memoryDeps();
    const { vm, pointId, helperId } = await backedUp(s);
    const before = new Set(s.cloud.disks.keys());
    const job = await requestMount(s.deps, { itemKey: vm.itemKey, pointId, helperVmId: helperId, durationMinutes: 90 });
    await s.drain();
    const mountedAt = Date.parse(mountOf(await getJob(s.deps, job.jobId)).mountedAt!);
    await reconcile(s.deps, new Date(mountedAt + 89 * 60_000));
    expect(mountOf(await getJob(s.deps, job.jobId)).state).toBe('Mounted');
    expect(s.cloud.vm(helperId)!.dataDisks).toHaveLength(2);
    // The app was down at the deadline: the first run, three days later, still finds and unmounts it.
    await reconcile(s.deps, new Date(mountedAt + 3 * 24 * HOUR));
    expect(mountOf(await getJob(s.deps, job.jobId))).toMatchObject({ state: 'Unmounted', unmountReason: 'Expired' });
    expect(s.cloud.vm(helperId)!.dataDisks).toEqual([]);
    expect(extraDisks(s, before)).toEqual([]);
  });

  it('refuses with 400/404/409 before anything is created', async () => {
    const s = memoryDeps();
    const { vm, pointId, helperId } = await backedUp(s);
    const away = s.cloud.createVm({ subscriptionId: SUB, resourceGroup: 'helpers', name: 'away', location: 'northeurope', disks: [{ name: 'away-os', sizeBytes: 32 * MIB, lun: -1 }] });
    const disks = s.cloud.disks.size;
    const req = { itemKey: vm.itemKey, pointId, helperVmId: helperId };
    expect(await refusal(requestMount(s.deps, { ...req, durationMinutes: 0 }))).toEqual({ status: 400, code: 'InvalidMountDuration' });
    expect(await refusal(requestMount(s.deps, { ...req, durationMinutes: 7 * 24 * 60 + 1 }))).toEqual({ status: 400, code: 'InvalidMountDuration' });
    expect(await refusal(requestMount(s.deps, { ...req, helperVmId: 'helper' }))).toEqual({ status: 400, code: 'InvalidHelperVmId' });
    expect(await refusal(requestMount(s.deps, { ...req, helperVmId: helperId.replace(/helper$/, 'gone') }))).toEqual({ status: 404, code: 'HelperVmNotFound' });
    expect(await refusal(requestMount(s.deps, { ...req, pointId: 'nope' }))).toMatchObject({ status: 404 });
    expect(await refusal(requestMount(s.deps, { ...req, helperVmId: away.id }))).toEqual({ status: 409, code: 'MountRegionMismatch' });
    await s.deps.repos.points.update(vm.itemKey, pointId, (p) => {
      p.state = 'SoftDeleted';
    });
    expect(await refusal(requestMount(s.deps, req))).toEqual({ status: 409, code: 'RecoveryPointSoftDeleted' });
    expect(await s.deps.repos.jobs.all({ where: { type: 'Mount' } })).toEqual([]);
    expect(s.cloud.disks.size).toBe(disks);
  });

  it('a crash after the attach, on every delivery, fails the job and leaves nothing attached or created', async () => {
    const s = memoryDeps({ deps: (d) => ({ compute: attachThenDie(d.compute) }) });
    const { vm, pointId, helperId } = await backedUp(s);
    const before = new Set(s.cloud.disks.keys());
    const job = await requestMount(s.deps, { itemKey: vm.itemKey, pointId, helperVmId: helperId });
    await s.drain();
    await finished(s, job.jobId, 'Failed');
    expect(s.cloud.vm(helperId)!.dataDisks).toEqual([]);
    expect(extraDisks(s, before)).toEqual([]);
  });

  it("an orphan left by a cleanup that failed too is removed by the reconciler's sweep", async () => {
    const s = memoryDeps({ deps: (d) => ({ compute: attachThenDie(d.compute) }) });
    const { vm, pointId, helperId } = await backedUp(s);
    const before = new Set(s.cloud.disks.keys());
    const detach = failing(s.deps.compute, 'detachDataDisks', () => new Error('ARM unreachable'), 1);
    s.deps.compute = detach;
    const job = await requestMount(s.deps, { itemKey: vm.itemKey, pointId, helperVmId: helperId });
    await s.drain();
    await finished(s, job.jobId, 'Failed');
    expect(detach.calls).toBe(1);
    expect(s.cloud.vm(helperId)!.dataDisks).toHaveLength(2); // the cleanup could not detach
    await reconcile(s.deps);
    expect(s.cloud.vm(helperId)!.dataDisks).toEqual([]);
    expect(extraDisks(s, before)).toEqual([]);
  });

  it('is idempotent: duplicated deliveries make one restore and one attachment; a replayed key gets the same job', async () => {
    const s = memoryDeps();
    const { vm, pointId, helperId } = await backedUp(s);
    const before = new Set(s.cloud.disks.keys());
    const req = { itemKey: vm.itemKey, pointId, helperVmId: helperId, idempotencyKey: 'k-1' };
    const job = await requestMount(s.deps, req);
    expect((await requestMount(s.deps, req)).jobId).toBe(job.jobId);
    await s.drain({ duplicate: true });
    await finished(s, job.jobId);
    expect(await s.deps.repos.jobs.all({ where: { type: 'Restore' } })).toHaveLength(1);
    expect(s.cloud.vm(helperId)!.dataDisks).toHaveLength(2);
    expect(extraDisks(s, before)).toHaveLength(2);
  });

  it('a cancel while its restore runs leaves no disk behind', async () => {
    const s = memoryDeps();
    const { vm, pointId, helperId } = await backedUp(s);
    const before = new Set(s.cloud.disks.keys());
    const job = await requestMount(s.deps, { itemKey: vm.itemKey, pointId, helperVmId: helperId });
    await s.drain({ rounds: 2 }); // the mount step asked for its restore, which has made its disks
    expect(mountOf(await getJob(s.deps, job.jobId)).restoreJobId).toBeDefined();
    await requestCancel(s.deps, job.jobId);
    await s.drain();
    await finished(s, job.jobId, 'Cancelled');
    await reconcile(s.deps); // the restore may seal a disk after the mount's teardown: the sweep takes it
    expect(s.cloud.vm(helperId)!.dataDisks).toEqual([]);
    expect(extraDisks(s, before)).toEqual([]);
  });
});

/** The attach goes through, then the process dies before it can record the mount. */
function attachThenDie(c: ComputePort): ComputePort {
  const out = Object.create(c) as ComputePort;
  out.attachDataDisks = async (vmId, disks) => {
    await c.attachDataDisks(vmId, disks);
    throw new Error('process killed after the attach');
  };
  return out;
}
