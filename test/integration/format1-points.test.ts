import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAppStack, type AppStack } from '../support/app-stack';
import { stepsOf } from '../../src/local/queue-drain';
import { SUB } from '../support/emulator';
import { EmulatorState } from '../../src/emulator/arm/state';
import { contentDigest, contentDigestV1, fill } from '../../src/emulator/guest';
import { requestRegistration, backupNow } from '../../src/core/workflows/protection/protection';
import { requestRestore } from '../../src/core/workflows/restore/restore';
import { requestVerify } from '../../src/core/workflows/verify/verify';
import { getJob } from '../../src/core/jobs/jobs';
import { encodeManifest, isAllZero, manifestDigest, sha256 } from '../../src/core/engine/manifest';
import { manifestBlobNames } from '../../src/core/workflows/backup/manifest-io';
import { CELL } from '../../src/core/domain/ranges';
import type { Job, RecoveryPoint } from '../../src/core/domain/model';
import { itemKeyFor } from '../../src/core/store/layout';

const MIB = 1024 ** 2;

/**
 * Points written before manifest format 2 (one blob of SHA-256 cells) must still restore and verify, and the next
 * incremental over one must work: it rebuilds each touched cell once (reading its old bytes whole) and records a
 * GHASH digest for it, while the untouched cells keep their SHA-256.
 */
describe('a recovery point in manifest format 1, through the services, Azurite and the emulator', () => {
  let stack: AppStack, itemKey: string, diskKey: string;
  beforeAll(async () => {
    stack = await startAppStack({}, [], stepsOf(['Verify']));
    const vm = stack.emulator.createVm({ subscriptionId: SUB, resourceGroup: 'prod', name: 'old1', osType: 'Linux', disks: [{ name: 'old1-os', sizeBytes: 21 * MIB, lun: -1 }] });
    await stack.deps.repos.policies.insert({
      name: 'daily',
      timeZone: 'UTC',
      schedule: { frequency: 'Daily', times: ['02:00'] },
      retention: { dailyDays: 30 },
      instantRestoreDays: 2,
      consistency: { mode: 'CrashConsistent', scriptTimeoutSeconds: 60 },
    });
    await requestRegistration(stack.deps, [vm.id], 'daily');
    await stack.drain();
    itemKey = itemKeyFor(vm.id);
    diskKey = EmulatorState.key(stack.emulator.state.vm(vm.id)!.osDiskId);
  });
  afterAll(async () => stack?.stop());

  async function backup(): Promise<Job> {
    const job = await backupNow(stack.deps, itemKey);
    await stack.drain();
    const done = await getJob(stack.deps, job.jobId);
    expect(done.status, JSON.stringify(done.error)).toMatch(/^Completed/);
    stack.emulator.clock.advance(60_000);
    return done;
  }

  async function point(job: Job): Promise<RecoveryPoint> {
    return (await stack.deps.repos.points.get(itemKey, job.result.recoveryPointId as string))!.doc;
  }

  /** Rewrites a point as a version before format 2 left it: its shards' cells as SHA-256 in one manifest blob. */
  async function toFormat1(p: RecoveryPoint): Promise<void> {
    for (const d of p.disks) {
      const cells = new Map<number, Buffer>();
      for (let o = 0; o < d.sizeBytes; o += CELL) {
        const r = { start: o, end: Math.min(d.sizeBytes, o + CELL) };
        const shard = Math.floor(o / d.shardSize);
        const data = await stack.deps.store.readShardSnapshot(d.shards[shard]!.name, d.shards[shard]!.snapshot, { start: r.start - shard * d.shardSize, end: r.end - shard * d.shardSize });
        if (!isAllZero(data)) cells.set(o / CELL, sha256(data));
      }
      for (const name of await manifestBlobNames(stack.deps, d.manifest)) await stack.deps.store.deleteObject(name);
      const v1 = { diskSize: d.sizeBytes, cells };
      await stack.deps.store.putObject(d.manifest, encodeManifest(v1));
      await stack.deps.repos.points.update(itemKey, p.pointId, (x) => {
        x.disks.find((y) => y.diskKey === d.diskKey)!.digest = manifestDigest(v1);
      });
    }
  }

  async function restoresExact(job: Job): Promise<void> {
    const r = await requestRestore(stack.deps, { itemKey, pointId: job.result.recoveryPointId as string, mode: 'newDisks', source: 'vault', targetResourceGroup: 'restored' });
    await stack.drain();
    const done = await getJob(stack.deps, r.jobId);
    expect(done.status, JSON.stringify(done.error)).toBe('Completed');
    const target = (done.result.disks as { diskId: string }[])[0]!.diskId;
    expect(contentDigest(stack.emulator.store, EmulatorState.key(target))).toBe(contentDigest(stack.emulator.store, EmulatorState.key(job.plan![0]!.snapshotId)));
  }

  async function verifies(job: Job): Promise<void> {
    const v = await requestVerify(stack.deps, itemKey, job.result.recoveryPointId as string);
    await stack.drain();
    const done = await getJob(stack.deps, v.jobId);
    expect(done.status, JSON.stringify(done.error)).toBe('Completed');
    expect(done.result.state).toBe('Verified');
  }

  it('restores and verifies it, and the next incremental over it restores and verifies too', { timeout: 240_000 }, async () => {
    fill(stack.emulator.store, diskKey, 0, 12 * MIB, 5);
    fill(stack.emulator.store, diskKey, 21 * MIB - 1536, 1536, 6); // the disk's last, short cell
    const first = await backup();
    await toFormat1(await point(first));
    expect((await point(first)).disks[0]!.digest).toBe(contentDigestV1(stack.emulator.store, EmulatorState.key(first.plan![0]!.snapshotId)));
    await restoresExact(first);
    await verifies(first);

    // A few pages in the first cell only: it is read back whole once and rebuilt; the other cells keep SHA-256.
    fill(stack.emulator.store, diskKey, 4096, 8192, 7);
    const second = await backup();
    const rows = await stack.deps.repos.segments.all(second.jobId);
    expect(rows.reduce((n, r) => n + (r.stats.backupBytesRead ?? 0), 0)).toBe(CELL);
    await restoresExact(second);
    await verifies(second);

    // The third backup over the now-GHASH cell reads back only what changed.
    fill(stack.emulator.store, diskKey, 4096, 8192, 8);
    const third = await backup();
    const rows3 = await stack.deps.repos.segments.all(third.jobId);
    expect(rows3.reduce((n, r) => n + (r.stats.backupBytesRead ?? 0), 0)).toBe(8192);
    await restoresExact(third);
    await verifies(third);
  });
});
