import { describe, expect, it } from 'vitest';
import { backupNow } from '../../../src/core/workflows/protection/protection';
import { requestVerify } from '../../../src/core/workflows/verify/verify';
import { requestRestore } from '../../../src/core/workflows/restore/restore';
import { memoryDeps, type MemoryStack } from '../../support/memory-deps';
import { manifestPartBlob } from '../../../src/core/store/layout';
import { finished, registeredVm, type TestVm } from '../../support/memory-fixtures';

async function point(s: MemoryStack): Promise<{ vm: TestVm; pointId: string }> {
  const vm = await registeredVm(s);
  const job = await backupNow(s.deps, vm.itemKey);
  await s.drain();
  await finished(s, job.jobId);
  return { vm, pointId: job.jobId };
}

describe('verify job (memory adapters)', () => {
  it('reads the point back, finds every cell as its manifest says: job Completed, point Verified', async () => {
    const s = memoryDeps();
    const { vm, pointId } = await point(s);
    const job = await requestVerify(s.deps, vm.itemKey, pointId);
    expect(job.status).toBe('Queued');
    await s.drain();
    const done = await finished(s, job.jobId);
    expect(done.result.state).toBe('Verified');
    expect(done.bytesDone).toBe(done.bytesTotal);
    const p = (await s.deps.repos.points.get(vm.itemKey, pointId))!.doc;
    expect(p.state).toBe('Available');
    expect(p.verifiedAt?.getTime()).toBe(s.clock.ms);
  });

  it('marks the point Corrupt when a manifest is missing: job Failed RecoveryPointCorrupt, restore refused', async () => {
    const s = memoryDeps();
    const { vm, pointId } = await point(s);
    const p = (await s.deps.repos.points.get(vm.itemKey, pointId))!.doc;
    await s.store.deleteObject(p.disks.find((d) => d.diskKey === 'lun-0')!.manifest);
    const job = await requestVerify(s.deps, vm.itemKey, pointId);
    await s.drain();
    const done = await finished(s, job.jobId, 'Failed');
    expect(done.error!.code).toBe('RecoveryPointCorrupt');
    expect(done.error!.message).toMatch(/lun-0: manifest missing/);
    expect(done.result.disks).toEqual([
      { diskKey: 'os', ok: true },
      { diskKey: 'lun-0', ok: false, problem: 'manifest missing' },
    ]);
    expect((await s.deps.repos.points.get(vm.itemKey, pointId))!.doc.state).toBe('Corrupt');
    await expect(requestRestore(s.deps, { itemKey: vm.itemKey, pointId, mode: 'newDisks' })).rejects.toMatchObject({ code: 'RecoveryPointCorrupt' });
  });

  it('marks the point Corrupt when the shard data differs from the manifest', async () => {
    const s = memoryDeps();
    const { vm, pointId } = await point(s);
    const p = (await s.deps.repos.points.get(vm.itemKey, pointId))!.doc;
    // The first manifest part of the data disk in place of the OS disk's: its cells describe other data.
    const part = (d: string): string => manifestPartBlob(p.disks.find((x) => x.diskKey === d)!.manifest, 0);
    await s.store.putObject(part('os'), (await s.store.getObject(part('lun-0')))!);
    const job = await requestVerify(s.deps, vm.itemKey, pointId);
    await s.drain();
    const done = await finished(s, job.jobId, 'Failed');
    expect(done.error!.code).toBe('RecoveryPointCorrupt');
    expect(done.error!.message).toMatch(/os: \d+ cell\(s\) differ/);
  });

  it("marks the point Corrupt when a disk's manifest header is another disk's (its parts no longer add up)", async () => {
    const s = memoryDeps();
    const { vm, pointId } = await point(s);
    const p = (await s.deps.repos.points.get(vm.itemKey, pointId))!.doc;
    const data = await s.store.getObject(p.disks.find((d) => d.diskKey === 'lun-0')!.manifest);
    await s.store.putObject(p.disks.find((d) => d.diskKey === 'os')!.manifest, data!);
    const job = await requestVerify(s.deps, vm.itemKey, pointId);
    await s.drain();
    const done = await finished(s, job.jobId, 'Failed');
    expect(done.error!.code).toBe('RecoveryPointCorrupt');
    expect(done.error!.message).toMatch(/os: /);
  });

  it('answers 404 for a point that does not exist, and creates no job', async () => {
    const s = memoryDeps();
    const { vm } = await point(s);
    await expect(requestVerify(s.deps, vm.itemKey, 'nope')).rejects.toMatchObject({ code: 'RecoveryPointNotFound' });
    expect(await s.deps.repos.jobs.all({ where: { type: 'Verify' } })).toEqual([]);
  });
});
