import { describe, expect, it } from 'vitest';
import { backupNow } from '../../../src/core/workflows/protection/protection';
import { deletePoint, retentionRun } from '../../../src/core/workflows/protection/retention';
import { protectPoint } from '../../../src/core/workflows/protection/immutability';
import { BlobImmutableError } from '../../../src/core/ports/storage';
import { memoryDeps } from '../../support/memory-deps';
import { finished, registeredVm } from '../../support/memory-fixtures';

const DAY = 86_400_000;

/** Locked policies (https://learn.microsoft.com/azure/storage/blobs/immutable-version-level-worm-policies): only extended. */
describe('immutable recovery points, Locked (memory adapters)', () => {
  it('locks each point until its expiry, extends but never shortens it, and purges only after it', async () => {
    const s = memoryDeps({ settings: { VMBACKUP_IMMUTABILITY: 'Locked' } });
    const vm = await registeredVm(s);
    const job = await backupNow(s.deps, vm.itemKey, new Date(s.clock.ms + 30 * DAY));
    await s.drain();
    await finished(s, job.jobId);
    const second = await backupNow(s.deps, vm.itemKey, new Date(s.clock.ms + 60 * DAY));
    await s.drain();
    await finished(s, second.jobId);
    let p = (await s.deps.repos.points.get(vm.itemKey, job.jobId))!.doc;
    expect(p.immutabilityMode).toBe('Locked');
    const shard = p.disks[0]!.shards[0]!;
    expect(s.store.immutability(shard.name, shard.snapshot)).toMatchObject({ mode: 'Locked', until: p.immutableUntil });
    await expect(s.store.deleteShardSnapshot(shard.name, shard.snapshot)).rejects.toBeInstanceOf(BlobImmutableError);
    await expect(s.store.setImmutability(shard.name, shard.snapshot, { until: new Date(s.clock.ms + DAY), mode: 'Locked' })).rejects.toBeInstanceOf(BlobImmutableError);
    await expect(s.store.setImmutability(shard.name, shard.snapshot, { until: new Date(s.clock.ms + 40 * DAY), mode: 'Unlocked' })).rejects.toBeInstanceOf(BlobImmutableError);

    // The expiry moves earlier (say a policy change): the locked date stays, retention still soft-deletes on time.
    const locked = p.immutableUntil!;
    p = (await s.deps.repos.points.update(vm.itemKey, job.jobId, (x) => void (x.expiresAt = new Date(s.clock.ms + 10 * DAY))))!;
    expect(await protectPoint(s.deps, p)).toBe('KeptLocked');
    // ...and later: the policy is extended.
    p = (await s.deps.repos.points.update(vm.itemKey, job.jobId, (x) => void (x.expiresAt = new Date(locked.getTime() + 5 * DAY))))!;
    expect(await protectPoint(s.deps, p)).toBe('Set');
    const extended = (await s.deps.repos.points.get(vm.itemKey, job.jobId))!.doc.immutableUntil!;
    expect(extended.getTime()).toBeGreaterThan(locked.getTime());
    expect(s.store.immutability(shard.name, shard.snapshot)?.until).toEqual(extended);

    await deletePoint(s.deps, vm.itemKey, job.jobId);
    s.clock.advance(20 * DAY);
    expect(await retentionRun(s.deps)).toMatchObject({ purged: 0, purgeDeferred: 1, failedItems: 0 });
    s.clock.advance(20 * DAY); // past the extended lock
    expect(await retentionRun(s.deps)).toMatchObject({ purged: 1, failedItems: 0 });
    expect(s.store.snapshotCount(shard.name)).toBe(1); // the second point's snapshot only
  });

  it('sets nothing when immutability is Off (the default)', async () => {
    const s = memoryDeps();
    const vm = await registeredVm(s);
    const job = await backupNow(s.deps, vm.itemKey, new Date(s.clock.ms + 30 * DAY));
    await s.drain();
    await finished(s, job.jobId);
    const p = (await s.deps.repos.points.get(vm.itemKey, job.jobId))!.doc;
    expect(p.immutableUntil).toBeUndefined();
    expect(s.store.immutability(p.disks[0]!.manifest)).toBeUndefined();
  });
});
