import { describe, expect, it } from 'vitest';
import { backupNow } from '../../../src/core/workflows/protection/protection';
import { deletePoint, retentionRun, undeletePoint } from '../../../src/core/workflows/protection/retention';
import { memoryDeps, MIB, type MemoryStack } from '../../support/memory-deps';
import { finished, pattern, registeredVm, type TestVm } from '../../support/memory-fixtures';

const DAY = 86_400_000;

async function backupKeptFor(s: MemoryStack, vm: TestVm, days: number): Promise<string> {
  s.cloud.writeDisk(vm.osDiskId, 20 * MIB, pattern(4096, s.clock.ms % 1000));
  const job = await backupNow(s.deps, vm.itemKey, new Date(s.clock.ms + days * DAY));
  await s.drain();
  await finished(s, job.jobId);
  s.clock.advance(DAY);
  return job.jobId;
}

describe('retention (memory adapters)', () => {
  it('soft-deletes expired points, keeps the newest, purges after the soft-delete window, keeps the diff base', async () => {
    const s = memoryDeps();
    const vm = await registeredVm(s);
    const p1 = await backupKeptFor(s, vm, 1);
    const p2 = await backupKeptFor(s, vm, 1);
    const p3 = await backupKeptFor(s, vm, 1); // the newest: every point has expired by now
    const first = await retentionRun(s.deps);
    expect(first.softDeleted).toBe(2);
    const state = async () => Object.fromEntries((await s.deps.repos.points.all(vm.itemKey)).map((p) => [p.pointId, p.state]));
    expect(await state()).toEqual({ [p1]: 'SoftDeleted', [p2]: 'SoftDeleted', [p3]: 'Available' });

    const p1Point = (await s.deps.repos.points.get(vm.itemKey, p1))!.doc;
    s.clock.advance(s.config.softDeleteDays * DAY);
    await deletePoint(s.deps, vm.itemKey, p3); // the current diff base, deleted by hand: never purged
    s.clock.advance(s.config.softDeleteDays * DAY);
    const second = await retentionRun(s.deps);
    expect(second.purged).toBe(2);
    expect(await state()).toEqual({ [p3]: 'SoftDeleted' });
    // A purge removes the vault copy: shard snapshots and manifests.
    for (const d of p1Point.disks) {
      expect(await s.store.getObject(d.manifest)).toBeUndefined();
      await expect(s.store.readShardSnapshot(d.shards[0]!.name, d.shards[0]!.snapshot, { start: 0, end: 512 })).rejects.toMatchObject({ statusCode: 404 });
    }
    const item = (await s.deps.repos.items.get(vm.itemKey))!.doc;
    for (const d of item.disks) expect(await s.store.getObject(d.lastManifest!)).toBeDefined();
  });

  it('prunes source snapshots older than the instant-restore days, never the diff base', async () => {
    const s = memoryDeps();
    const vm = await registeredVm(s);
    await backupKeptFor(s, vm, 30);
    await backupKeptFor(s, vm, 30);
    await backupKeptFor(s, vm, 30);
    const item = (await s.deps.repos.items.get(vm.itemKey))!.doc;
    const bases = new Set(item.disks.map((d) => d.baseSnapshotId!.toLowerCase()));
    expect(s.cloud.snapshots.size).toBe(6);
    const r = await retentionRun(s.deps);
    expect(r.softDeleted).toBe(0);
    // Two days kept (no policy): the first backup's snapshots (3 days old) go; the second's (2 days) and the base stay.
    expect(r.sourceSnapshotsDeleted).toBe(2);
    expect([...s.cloud.snapshots.keys()].filter((k) => bases.has(k))).toHaveLength(2);
  });

  it('undeletes a soft-deleted point and gives it a day before it can expire again', async () => {
    const s = memoryDeps();
    const vm = await registeredVm(s);
    const p1 = await backupKeptFor(s, vm, 1);
    await backupKeptFor(s, vm, 30);
    await retentionRun(s.deps);
    const back = await undeletePoint(s.deps, vm.itemKey, p1);
    expect(back.state).toBe('Available');
    expect(back.expiresAt!.getTime()).toBe(s.clock.ms + DAY);
    await expect(undeletePoint(s.deps, vm.itemKey, p1)).rejects.toMatchObject({ code: 'RecoveryPointNotDeleted' });
    expect((await retentionRun(s.deps)).softDeleted).toBe(0);
  });
});
