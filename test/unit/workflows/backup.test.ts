import { describe, expect, it } from 'vitest';
import { QUEUES } from '../../../src/core/config';
import { backupNow } from '../../../src/core/workflows/protection/protection';
import { requestCancel } from '../../../src/core/jobs/run-step';
import { getJob } from '../../../src/core/jobs/jobs';
import { jobWorkPrefix } from '../../../src/core/store/layout';
import { failing, memoryDeps, MIB, type MemoryStack } from '../../support/memory-deps';
import { finished, pattern, pointImage, registeredVm, type TestVm } from '../../support/memory-fixtures';

/** The backup workflow's branches on the memory adapters: each case runs in milliseconds. */
async function backup(s: MemoryStack, vm: TestVm, status: Parameters<typeof finished>[2] = 'Completed') {
  const job = await backupNow(s.deps, vm.itemKey);
  await s.drain();
  const done = await finished(s, job.jobId, status);
  s.clock.advance(60 * 60_000); // the next backup an hour later, clear of the snapshot-rate window
  return done;
}

/** Nothing the job made is left: no open SAS, no scratch, no lock. */
async function leftNothing(s: MemoryStack, vm: TestVm, jobId: string): Promise<void> {
  expect(s.cloud.grants.size).toBe(0);
  expect(s.store.names(jobWorkPrefix(jobId))).toEqual([]);
  expect((await s.deps.repos.items.get(vm.itemKey))!.doc.lockOwner).toBeUndefined();
}

describe('backup workflow (memory adapters)', () => {
  it('copies the whole disk the first time, byte-exact in the shard snapshots, and moves the diff base', async () => {
    const s = memoryDeps();
    const vm = await registeredVm(s);
    const osBefore = s.cloud.readDisk(vm.osDiskId),
      dataBefore = s.cloud.readDisk(vm.dataDiskId);
    const job = await backup(s, vm);
    expect(job.plan!.map((d) => [d.diskKey, d.full, d.segments])).toEqual([
      ['os', true, 4],
      ['lun-0', true, 3],
    ]);
    expect(job.segmentsDone).toBe(7);
    const point = (await s.deps.repos.points.get(vm.itemKey, job.jobId))!.doc;
    expect(point.state).toBe('Available');
    expect((await pointImage(s, point, 'os')).equals(osBefore)).toBe(true);
    expect((await pointImage(s, point, 'lun-0')).equals(dataBefore)).toBe(true);
    const item = (await s.deps.repos.items.get(vm.itemKey))!.doc;
    expect(item.lastRecoveryPointId).toBe(job.jobId);
    expect(item.disks.map((d) => d.baseSnapshotId)).toEqual(job.plan!.map((d) => d.snapshotId));
    await leftNothing(s, vm, job.jobId);
  });

  it('copies only the changes the next time (diff against the base), cleared pages included', async () => {
    const s = memoryDeps();
    const vm = await registeredVm(s);
    const first = await backup(s, vm);
    s.cloud.writeDisk(vm.osDiskId, 20 * MIB, pattern(4096, 9));
    s.cloud.trimDisk(vm.osDiskId, 0, MIB); // the guest trims what the first point holds
    const osBefore = s.cloud.readDisk(vm.osDiskId);
    const second = await backup(s, vm);
    const os = second.plan!.find((d) => d.diskKey === 'os')!;
    expect(os.full).toBe(false);
    expect(os.baseSnapshotId).toBe(first.plan!.find((d) => d.diskKey === 'os')!.snapshotId);
    const point = (await s.deps.repos.points.get(vm.itemKey, second.jobId))!.doc;
    expect(point.disks.find((d) => d.diskKey === 'os')!.changedBytes).toBe(4096);
    expect(point.disks.find((d) => d.diskKey === 'lun-0')!.changedBytes).toBe(0);
    expect((await pointImage(s, point, 'os')).equals(osBefore)).toBe(true);
    // The first point's snapshots are immutable: it still holds the trimmed megabyte.
    const older = (await s.deps.repos.points.get(vm.itemKey, first.jobId))!.doc;
    expect((await pointImage(s, older, 'os')).subarray(0, MIB).equals(pattern(MIB, 1))).toBe(true);
    // The source snapshot the first backup diffed against is released once it is no longer the base.
    await leftNothing(s, vm, second.jobId);
  });

  it('copies whole again, with a warning, when the previous manifest is missing', async () => {
    const s = memoryDeps();
    const vm = await registeredVm(s);
    await backup(s, vm);
    const item = (await s.deps.repos.items.get(vm.itemKey))!.doc;
    await s.store.deleteObject(item.disks[0]!.lastManifest!);
    const next = await backup(s, vm, 'CompletedWithWarnings');
    expect(next.plan!.map((d) => d.full)).toEqual([true, false]);
    expect(next.warnings.join(' ')).toMatch(/manifest is missing/);
  });

  it('ends Cancelled when cancelled during the copy, deleting its source snapshots and freeing the item', async () => {
    const s = memoryDeps();
    const vm = await registeredVm(s);
    const job = await backupNow(s.deps, vm.itemKey);
    let asked = false;
    await s.drain({
      beforeStep: async (queue) => {
        if (queue === QUEUES.copy && !asked) {
          asked = true;
          await requestCancel(s.deps, job.jobId);
        }
      },
    });
    const done = await finished(s, job.jobId, 'Cancelled');
    expect(await s.deps.repos.points.get(vm.itemKey, job.jobId)).toBeUndefined();
    for (const d of done.plan!) expect(s.cloud.snapshot(d.snapshotId)).toBeUndefined();
    await leftNothing(s, vm, job.jobId);
  });

  it('cancels a queued job at once, before any snapshot', async () => {
    const s = memoryDeps();
    const vm = await registeredVm(s);
    const job = await backupNow(s.deps, vm.itemKey);
    expect((await requestCancel(s.deps, job.jobId)).status).toBe('Cancelled');
    await s.drain();
    expect(s.cloud.snapshots.size).toBe(0);
  });

  it('fails after the last delivery of a step that keeps failing, and cleans up what it made', async () => {
    const s = memoryDeps({ deps: (d) => ({ store: failing(d.store, 'putPages', () => new Error('disk full')) }) });
    const vm = await registeredVm(s);
    const job = await backupNow(s.deps, vm.itemKey);
    await s.drain();
    const done = await finished(s, job.jobId, 'Failed');
    expect(done.error!.code).toBe('InternalError');
    expect(done.error!.message).toMatch(/disk full/);
    expect(s.cloud.snapshots.size).toBe(0); // cleanup deleted the job's source snapshots
    expect(await s.deps.repos.points.all(vm.itemKey)).toEqual([]);
    await leftNothing(s, vm, job.jobId);
  });

  it('fails at once, with what to do, when the VM is gone (a permanent error is not retried)', async () => {
    const s = memoryDeps();
    const vm = await registeredVm(s);
    s.cloud.vms.clear();
    const job = await backupNow(s.deps, vm.itemKey);
    const handled = await s.drain();
    const done = await finished(s, job.jobId, 'Failed');
    expect(done.error!.code).toBe('VmNotFound');
    expect(handled).toBe(1);
    await leftNothing(s, vm, job.jobId);
  });

  it('fails with SnapshotLimitReached when the disk has the most incremental snapshots Azure allows', async () => {
    const s = memoryDeps({ limits: { maxIncrementalSnapshotsPerDisk: 1 } });
    const vm = await registeredVm(s);
    await backup(s, vm);
    const done = await backup(s, vm, 'Failed');
    expect(done.error!.code).toBe('SnapshotLimitReached');
  });

  it('ends with one point and exact content when every message is delivered twice at once', async () => {
    const s = memoryDeps();
    const vm = await registeredVm(s);
    const osBefore = s.cloud.readDisk(vm.osDiskId);
    const job = await backupNow(s.deps, vm.itemKey);
    await s.drain({ duplicate: true });
    const done = await finished(s, job.jobId);
    expect(done.segmentsDone).toBe(done.segmentsTotal);
    const points = await s.deps.repos.points.all(vm.itemKey);
    expect(points.map((p) => p.pointId)).toEqual([job.jobId]);
    expect((await pointImage(s, points[0]!, 'os')).equals(osBefore)).toBe(true);
    expect(s.cloud.snapshots.size).toBe(2); // one source snapshot per disk, not one per delivery
    await leftNothing(s, vm, job.jobId);
  });

  // The second shape is a row written by the version that kept leases inside params: still honoured.
  it.each(['leases', 'params (older rows)'])('waits out a planning lease held by a delivery that died, then plans (lease in %s)', async (where) => {
    const s = memoryDeps();
    const vm = await registeredVm(s);
    const job = await backupNow(s.deps, vm.itemKey);
    const t0 = s.clock.ms;
    await s.deps.repos.jobs.update(job.jobId, (j) => {
      if (where === 'leases') j.leases = { planner: { holder: 'dead', until: t0 + 45_000 } };
      else j.params = { ...j.params, planner: 'dead', plannerUntil: t0 + 45_000 };
    });
    await s.drain();
    await finished(s, job.jobId);
    expect(s.clock.ms).toBeGreaterThanOrEqual(t0 + 45_000);
    expect((await getJob(s.deps, job.jobId)).plan).toHaveLength(2);
  });
});
