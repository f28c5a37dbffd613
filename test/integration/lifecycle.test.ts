import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAppStack, type AppStack } from '../support/app-stack';
import { SUB } from '../support/emulator';
import { EmulatorState } from '../../src/emulator/arm/state';
import { contentDigest, fill } from '../../src/emulator/guest';
import { backupNow, requestRegistration, stopProtection } from '../../src/core/workflows/protection/protection';
import { requestRestore } from '../../src/core/workflows/restore/restore';
import { retentionRun, undeletePoint } from '../../src/core/workflows/protection/retention';
import { verifyPoint } from '../../src/core/workflows/verify/verify';
import { getJob } from '../../src/core/jobs/jobs';
import { requestCancel } from '../../src/core/jobs/run-step';
import { ConflictError } from '../../src/core/errors';
import { itemKeyFor } from '../../src/core/store/layout';

const MIB = 1024 ** 2,
  DAY = 86_400_000;

describe('protected item lifecycle: throttling, replace disks, verify, retention, cancel', () => {
  let s: AppStack;
  let vmId: string;
  let itemKey: string;
  beforeAll(async () => {
    s = await startAppStack({ VMBACKUP_SEGMENT_SIZE_MIB: '32' });
    vmId = s.emulator.createVm({
      subscriptionId: SUB,
      resourceGroup: 'rg',
      name: 'app1',
      disks: [
        { name: 'app1-os', sizeBytes: 64 * MIB, lun: -1 },
        { name: 'app1-d0', sizeBytes: 96 * MIB, lun: 0 },
      ],
    }).id;
    itemKey = itemKeyFor(vmId);
    await requestRegistration(s.deps, [vmId]);
    await s.drain();
  });
  afterAll(async () => s?.stop());

  const backup = async (status = 'Completed'): Promise<string> => {
    const job = await backupNow(s.deps, itemKey);
    await s.drain();
    const done = await getJob(s.deps, job.jobId);
    expect(done.status, JSON.stringify(done.error)).toBe(status);
    s.emulator.clock.advance(60_000);
    return job.jobId;
  };
  const diskKeys = (): string[] => {
    const vm = s.emulator.state.vm(vmId)!;
    return [vm.osDiskId, ...vm.dataDisks.map((d) => d.diskId)].map(EmulatorState.key);
  };

  it('rides out 503s with Retry-After and connection resets on the disk data plane', { timeout: 60_000 }, async () => {
    for (const d of diskKeys()) fill(s.emulator.store, d, MIB, 20 * MIB, 5);
    s.emulator.faults.inject({ plane: 'data', method: 'GET', status: 503, retryAfter: 0, times: 6, after: 3 });
    s.emulator.faults.inject({ plane: 'data', method: 'GET', status: 0, times: 2, after: 10 });
    const jobId = await backup();
    const rows = await s.deps.repos.segments.all(jobId);
    expect(rows.reduce((n, r) => n + (r.stats.throttled ?? 0), 0)).toBeGreaterThan(0);
    expect(s.emulator.faults.injected).toBe(8);
    const point = (await s.deps.repos.points.get(itemKey, jobId))!.doc;
    for (const d of point.disks) expect(d.digest).toBe(contentDigest(s.emulator.store, EmulatorState.key(d.sourceSnapshotId)));
  });

  // Was AZURE-FIDELITY B2: the old swap sent osDisk.createOption 'Attach' to this image-based VM and a new
  // managedDisk.id at an existing LUN (409 PropertyChangeNotAllowed), after deallocating it.
  it('replaces the VM disks with a restored point (deallocate, swap, start), keeping the old disks', { timeout: 180_000 }, async () => {
    const before = s.emulator.state.vm(vmId)!;
    const oldOs = before.osDiskId;
    const pointId = await backup();
    for (const d of diskKeys()) fill(s.emulator.store, d, 0, 4 * MIB, 77); // the guest changes after the point
    const job = await requestRestore(s.deps, { itemKey, pointId, mode: 'replaceDisks' });
    await s.drain();
    const r = await getJob(s.deps, job.jobId);
    expect(r.status, JSON.stringify(r.error)).toBe('Completed');
    const vm = s.emulator.state.vm(vmId)!;
    expect(vm.osDiskId).not.toBe(oldOs);
    expect(vm.powerState).toBe('running');
    expect(s.emulator.state.disk(oldOs)!.state).toBe('Unattached');
    const point = (await s.deps.repos.points.get(itemKey, pointId))!.doc;
    for (const d of point.disks) {
      const now = d.lun < 0 ? vm.osDiskId : vm.dataDisks.find((x) => x.lun === d.lun)!.diskId;
      expect(contentDigest(s.emulator.store, EmulatorState.key(now))).toBe(d.digest);
    }
    // The swapped-in disks have no lineage with the old ones: the next backup is a full copy, and correct.
    const next = await getJob(s.deps, await backup('CompletedWithWarnings'));
    expect(next.plan!.every((p) => p.full)).toBe(true);
    expect(next.warnings.join(' ')).toMatch(/a different disk is attached at this LUN/);
  });

  it('verifies points, soft-deletes expired ones, refuses to restore them, undeletes and purges', { timeout: 60_000 }, async () => {
    const points = await s.deps.repos.points.all(itemKey);
    const oldest = points[points.length - 1]!;
    expect((await verifyPoint(s.deps, itemKey, oldest.pointId)).state).toBe('Verified');
    await s.deps.repos.points.update(itemKey, oldest.pointId, (p) => {
      p.expiresAt = new Date(s.emulator.clock.now() - 1000);
    });
    expect((await retentionRun(s.deps)).softDeleted).toBe(1);
    await expect(requestRestore(s.deps, { itemKey, pointId: oldest.pointId, mode: 'newDisks' })).rejects.toMatchObject({ code: 'RecoveryPointSoftDeleted' });
    await undeletePoint(s.deps, itemKey, oldest.pointId);
    expect((await s.deps.repos.points.get(itemKey, oldest.pointId))!.doc.state).toBe('Available');
    await s.deps.repos.points.update(itemKey, oldest.pointId, (p) => {
      p.expiresAt = new Date(s.emulator.clock.now() - 1000);
    });
    await retentionRun(s.deps);
    s.emulator.clock.advance(15 * DAY);
    const r = await retentionRun(s.deps);
    expect(r.purged).toBe(1);
    expect(await s.deps.repos.points.get(itemKey, oldest.pointId)).toBeUndefined();
    expect(await s.deps.store.getObject(oldest.disks[0]!.manifest)).toBeUndefined();
    // Old source snapshots beyond the instant-restore days are pruned; each disk's diff base stays.
    const item = (await s.deps.repos.items.get(itemKey))!.doc;
    for (const d of item.disks) expect(s.emulator.state.snapshot(d.baseSnapshotId!)).toBeDefined();
    expect(r.sourceSnapshotsDeleted).toBeGreaterThan(0);
    // A point whose manifest is gone is marked corrupt by verify.
    const newest = (await s.deps.repos.points.all(itemKey))[0]!;
    await s.deps.store.deleteObject(newest.disks[0]!.manifest);
    expect((await verifyPoint(s.deps, itemKey, newest.pointId)).state).toBe('Corrupt');
  });

  it('cancels a running backup at the next cell and leaves no trace; the next backup is exact', { timeout: 60_000 }, async () => {
    for (const d of diskKeys()) fill(s.emulator.store, d, 0, 60 * MIB, 11);
    const pointsBefore = (await s.deps.repos.points.all(itemKey)).length;
    const job = await backupNow(s.deps, itemKey);
    let asked = false;
    await s.drain({
      beforeStep: async (queue) => {
        if (queue.endsWith('copy') && !asked) {
          asked = true;
          expect((await requestCancel(s.deps, job.jobId)).status).toBe('Cancelling');
        }
      },
    });
    const j = await getJob(s.deps, job.jobId);
    expect(j.status, JSON.stringify(j.error)).toBe('Cancelled');
    expect((await s.deps.repos.points.all(itemKey)).length).toBe(pointsBefore);
    expect([...s.emulator.state.snapshots.values()].filter((x) => x.tags['vmbackup-job'] === job.jobId)).toEqual([]);
    expect(s.emulator.state.grants.size).toBe(0);
    expect((await s.deps.repos.items.get(itemKey))!.doc.lockOwner).toBeUndefined();
    s.emulator.clock.advance(60_000);
    // The previous test deleted the newest point's manifest: the next backup copies that disk whole, with a warning.
    const next = await backup('CompletedWithWarnings');
    expect((await getJob(s.deps, next)).warnings.join(' ')).toMatch(/manifest is missing/);
    const point = (await s.deps.repos.points.get(itemKey, next))!.doc;
    for (const d of point.disks) expect(d.digest).toBe(contentDigest(s.emulator.store, EmulatorState.key(d.sourceSnapshotId)));
  });

  it('cancels a queued backup, refuses a second operation on a busy item, and stops protection', async () => {
    const job = await backupNow(s.deps, itemKey);
    const cancelled = await requestCancel(s.deps, job.jobId);
    expect(cancelled.status).toBe('Cancelled');
    await s.drain();
    expect((await getJob(s.deps, job.jobId)).status).toBe('Cancelled');
    await expect(requestCancel(s.deps, job.jobId)).rejects.toBeInstanceOf(ConflictError);
    await s.deps.repos.items.update(itemKey, (i) => {
      i.lockOwner = 'someone';
      i.lockExpiresAt = new Date(s.emulator.clock.now() + 60_000);
    });
    await expect(backupNow(s.deps, itemKey)).rejects.toMatchObject({ code: 'AnotherOperationInProgress' });
    await s.deps.repos.items.update(itemKey, (i) => {
      i.lockOwner = undefined;
      i.lockExpiresAt = undefined;
    });
    const stopped = await stopProtection(s.deps, itemKey, true);
    expect(stopped.state).toBe('ProtectionStoppedDataDeleted');
    expect((await s.deps.repos.points.all(itemKey)).every((p) => p.state === 'SoftDeleted')).toBe(true);
    expect(s.emulator.state.grants.size).toBe(0);
  });

  it('ends a job Failed with code, message and action when a step cannot succeed, and frees the item', { timeout: 60_000 }, async () => {
    const otherId = s.emulator.createVm({ subscriptionId: SUB, resourceGroup: 'rg', name: 'gone1', disks: [{ name: 'gone1-os', sizeBytes: 32 * MIB, lun: -1 }] }).id;
    const otherKey = itemKeyFor(otherId);
    await requestRegistration(s.deps, [otherId]);
    await s.drain();
    // Every snapshot request fails: the step is retried until its last delivery, then the job fails cleanly.
    s.emulator.faults.inject({ plane: 'arm', method: 'PUT', path: /\/snapshots\//, status: 409, code: 'Conflict', times: 1000 });
    const failing = await backupNow(s.deps, otherKey);
    await s.drain();
    s.emulator.faults.clear();
    const f = await getJob(s.deps, failing.jobId);
    expect(f.status).toBe('Failed');
    expect(f.error?.code).toBe('InternalError');
    expect(f.error?.recommendedAction).toMatch(/Retry/);
    expect(JSON.stringify(f)).not.toMatch(/sig=|AccountKey|Bearer /);
    expect((await s.deps.repos.items.get(otherKey))!.doc.lockOwner).toBeUndefined();
    // The VM deleted out of band: a permanent error, worded for the operator.
    s.emulator.state.vms.delete(EmulatorState.key(otherId));
    const gone = await backupNow(s.deps, otherKey);
    await s.drain();
    const g = await getJob(s.deps, gone.jobId);
    expect(g.status).toBe('Failed');
    expect(g.error).toMatchObject({ code: 'VmNotFound', recommendedAction: expect.stringMatching(/Stop protection and retain/) });
    expect((await s.deps.repos.items.get(otherKey))!.doc.lockOwner).toBeUndefined();
  });
});
