import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAppStack, type AppStack } from '../support/app-stack';
import { SUB } from '../support/emulator';
import { EmulatorState } from '../../src/emulator/arm/state';
import { contentDigest, fill, sha256, trim } from '../../src/emulator/guest';
import { requestRegistration, requestProtection, backupNow } from '../../src/core/workflows/protection/protection';
import { requestRestore } from '../../src/core/workflows/restore/restore';
import { getJob } from '../../src/core/jobs/jobs';
import type { Job } from '../../src/core/domain/model';
import { strictLimitViolations } from '../../src/local/strict-limits';
import { itemKeyFor } from '../../src/core/store/layout';

const MIB = 1024 ** 2, GIB = 1024 ** 3;

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
}

describe('backup and restore through the services, Azurite and the compute emulator', () => {
  let stack: AppStack;
  let vmId: string;
  const sizes = { os: 256 * MIB, big: 64 * GIB, small: 100 * MIB };

  beforeAll(async () => {
    // 16 GiB shards and 2 GiB segments: the 64 GiB disk spans 4 shards and fans out over 32 segments.
    stack = await startAppStack({ VMBACKUP_SHARD_SIZE_MIB: String(16 * 1024), VMBACKUP_SEGMENT_SIZE_MIB: '2048', VMBACKUP_DIFF_WINDOW_MIB: '512' });
    const vm = stack.emulator.createVm({
      subscriptionId: SUB, resourceGroup: 'prod', name: 'web1', osType: 'Linux',
      disks: [{ name: 'web1-os', sizeBytes: sizes.os, lun: -1 }, { name: 'web1-big', sizeBytes: sizes.big, lun: 0 }, { name: 'web1-small', sizeBytes: sizes.small, lun: 1 }],
    });
    vmId = vm.id;
    await stack.deps.repos.policies.insert({
      name: 'daily', timeZone: 'UTC', schedule: { frequency: 'Daily', times: ['02:00'] }, retention: { dailyDays: 30 }, instantRestoreDays: 2,
      consistency: { mode: 'FileSystemConsistent', scriptTimeoutSeconds: 60 },
    });
    await requestRegistration(stack.deps, [vmId], 'daily');
    await stack.drain();
  });
  afterAll(async () => stack?.stop());

  it('restores every recovery point of 10 generations byte-exact, reading only what changed', { timeout: 600_000 }, async () => {
    const itemKey = itemKeyFor(vmId);
    const vm = stack.emulator.state.vm(vmId)!;
    const disks = [vm.osDiskId, ...vm.dataDisks.map((d) => d.diskId)].map((id) => ({ id, key: EmulatorState.key(id), size: stack.emulator.state.disk(id)!.sizeBytes }));
    const rand = rng(1234);
    const store = stack.emulator.store;
    const backups: Job[] = [];
    for (let gen = 0; gen < 10; gen++) {
      for (const d of disks) {
        const pages = d.size / 512;
        for (let k = 0; k < 12; k++) {
          const r = rand();
          const start = Math.floor(rand() * pages);
          // single pages, ranges that start mid-cell and cross 4 MiB and shard (48 MiB) lines
          const n = Math.min(pages - start, r < 0.3 ? 1 : r < 0.6 ? 1 + Math.floor(rand() * 300) : 8192 + Math.floor(rand() * 20_000));
          if (rand() < 0.8) fill(store, d.key, start * 512, n * 512, Math.floor(rand() * 1e9));
          else trim(store, d.key, start * 512, n * 512);
        }
        if (gen === 0) fill(store, d.key, d.size - 512, 512, 99); // the last page of every disk
        if ((gen === 0 || gen === 5) && d.size > 16 * GIB) {
          for (const b of [16, 32, 48]) fill(store, d.key, b * GIB - 3 * MIB - 1024, 7 * MIB, gen * 100 + b); // across shard lines
        }
        if (gen === 4) trim(store, d.key, 0, d.size); // a whole-disk trim
      }
      const before = { ...stack.emulator.dataStats };
      const job = await backupNow(stack.deps, itemKey);
      await stack.drain();
      const done = await getJob(stack.deps, job.jobId);
      expect(done.status, JSON.stringify(done.error)).toBe('Completed');
      expect(done.consistency).toBe('FileSystemConsistent');
      backups.push(done);
      // Efficiency by counts: the source was read exactly where pages changed, nowhere else.
      const rows = await stack.deps.repos.segments.all(job.jobId);
      const changed = rows.reduce((n, r) => n + (r.stats.changedBytes ?? 0), 0);
      const read = rows.reduce((n, r) => n + (r.stats.sourceBytesRead ?? 0), 0);
      expect(read).toBe(changed);
      expect(stack.emulator.dataStats.readBytes - before.readBytes).toBe(changed);
      expect(gen === 4 || changed > 0).toBe(true);
      stack.emulator.clock.advance(60_000); // Azure allows 7 incremental snapshots per disk per 5 minutes
    }
    // The freeze script ran before and the thaw after every backup's snapshots.
    expect(stack.emulator.state.runCommands.length).toBe(20);

    const points = await stack.deps.repos.points.all(itemKey);
    expect(points).toHaveLength(10);
    for (const job of backups) {
      const pointId = job.result.recoveryPointId as string;
      const restore = await requestRestore(stack.deps, { itemKey, pointId, mode: 'newDisks', targetResourceGroup: 'restored' });
      await stack.drain();
      const r = await getJob(stack.deps, restore.jobId);
      expect(r.status, JSON.stringify(r.error)).toBe('Completed');
      const restored = r.result.disks as { diskKey: string; diskId: string }[];
      expect(restored).toHaveLength(3);
      for (const d of job.plan!) {
        const target = restored.find((x) => x.diskKey === d.diskKey)!;
        const src = EmulatorState.key(d.snapshotId), dst = EmulatorState.key(target.diskId);
        expect(store.get(dst)!.sizeBytes).toBe(d.sizeBytes);
        expect(contentDigest(store, dst)).toBe(contentDigest(store, src));
        if (d.sizeBytes <= GIB) expect(sha256(store, dst)).toBe(sha256(store, src));
        const point = points.find((p) => p.pointId === pointId)!;
        expect(point.disks.find((x) => x.diskKey === d.diskKey)!.digest).toBe(contentDigest(store, src));
      }
    }
    // Every SAS was revoked when its job ended, and nothing was sent that Azure would reject.
    expect(stack.emulator.state.grants.size).toBe(0);
    expect(strictLimitViolations()).toEqual([]);
  });
});
