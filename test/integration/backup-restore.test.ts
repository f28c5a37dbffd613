import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAppStack, type AppStack } from '../support/app-stack';
import { SUB } from '../support/emulator';
import { EmulatorState } from '../../src/emulator/arm/state';
import { contentDigest, fill, fingerprint, trim } from '../../src/emulator/guest';
import { requestRegistration, backupNow } from '../../src/core/workflows/protection/protection';
import { requestRestore } from '../../src/core/workflows/restore/restore';
import { getJob } from '../../src/core/jobs/jobs';
import type { Job } from '../../src/core/domain/model';
import { strictLimitViolations } from '../../src/local/strict-limits';
import { itemKeyFor } from '../../src/core/store/layout';

const MIB = 1024 ** 2,
  GIB = 1024 ** 3;
/** Many generations (a whole-disk trim at 4, shard-line writes at 0 and 5): each costs a full backup cycle. */
const GENERATIONS = 6;

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32;
}

interface Disk {
  id: string;
  key: string;
  size: number;
}

/** A stack with one registered VM of these disks (the first is the OS disk) under a file-consistent policy. */
async function stackWithVm(settings: Record<string, string>, name: string, sizes: number[]): Promise<{ stack: AppStack; itemKey: string; disks: Disk[] }> {
  // Time runs 100x (not the default 1000x) here: the freeze's watchdog (120 s) is 1.2 s, which a loaded
  // machine does not overrun between the pre-script and the snapshots, so the points stay file-system consistent.
  const stack = await startAppStack(settings, [], {}, { fidelity: { timeScale: 100 } });
  const vm = stack.emulator.createVm({
    subscriptionId: SUB,
    resourceGroup: 'prod',
    name,
    osType: 'Linux',
    disks: sizes.map((sizeBytes, i) => ({ name: `${name}-d${i}`, sizeBytes, lun: i - 1 })),
  });
  await stack.deps.repos.policies.insert({
    name: 'daily',
    timeZone: 'UTC',
    schedule: { frequency: 'Daily', times: ['02:00'] },
    retention: { dailyDays: 30 },
    instantRestoreDays: 2,
    consistency: { mode: 'FileSystemConsistent', scriptTimeoutSeconds: 60 },
  });
  await requestRegistration(stack.deps, [vm.id], 'daily');
  await stack.drain();
  const state = stack.emulator.state.vm(vm.id)!;
  const disks = [state.osDiskId, ...state.dataDisks.map((d) => d.diskId)].map((id) => ({ id, key: EmulatorState.key(id), size: stack.emulator.state.disk(id)!.sizeBytes }));
  return { stack, itemKey: itemKeyFor(vm.id), disks };
}

/** Random guest writes and trims: single pages, ranges that start mid-cell, and runs across 4 MiB and shard lines. */
function scribble(stack: AppStack, d: Disk, rand: () => number, longRun: number): void {
  const pages = d.size / 512;
  for (let k = 0; k < 12; k++) {
    const r = rand();
    const start = Math.floor(rand() * pages);
    const n = Math.min(pages - start, r < 0.3 ? 1 : r < 0.6 ? 1 + Math.floor(rand() * 300) : longRun + Math.floor(rand() * 2.5 * longRun));
    if (rand() < 0.8) fill(stack.emulator.store, d.key, start * 512, n * 512, Math.floor(rand() * 1e9));
    else trim(stack.emulator.store, d.key, start * 512, n * 512);
  }
}

/** Backs the item up and checks the job and its efficiency by counts: the source was read exactly where pages changed. */
async function backupReadingOnlyChanges(stack: AppStack, itemKey: string, disks: number): Promise<{ job: Job; changed: number }> {
  const before = stack.emulator.dataStats.readBytes;
  const job = await backupNow(stack.deps, itemKey);
  await stack.drain();
  const done = await getJob(stack.deps, job.jobId);
  expect(done.status, JSON.stringify([done.error, done.warnings])).toBe('Completed');
  expect(done.consistency).toBe('FileSystemConsistent');
  expect(done.plan).toHaveLength(disks);
  const rows = await stack.deps.repos.segments.all(job.jobId);
  const changed = rows.reduce((n, r) => n + (r.stats.changedBytes ?? 0), 0);
  const read = rows.reduce((n, r) => n + (r.stats.sourceBytesRead ?? 0), 0);
  // Cells with many fragments are read whole where that costs fewer request-seconds (engine/copy-cell.ts).
  const whole = rows.reduce((n, r) => n + (r.stats.wholeCellExtraBytes ?? 0), 0);
  expect(read).toBe(changed + whole);
  expect(stack.emulator.dataStats.readBytes - before).toBe(read);
  stack.emulator.clock.advance(60_000); // Azure allows 7 incremental snapshots per disk per 5 minutes
  return { job: done, changed };
}

/** Restores the backup's point to new disks and compares each with the snapshot it was taken from. */
async function expectExactRestore(stack: AppStack, itemKey: string, backup: Job): Promise<void> {
  const pointId = backup.result.recoveryPointId as string;
  const point = (await stack.deps.repos.points.all(itemKey)).find((p) => p.pointId === pointId)!;
  const restore = await requestRestore(stack.deps, { itemKey, pointId, mode: 'newDisks', source: 'vault', targetResourceGroup: 'restored' });
  await stack.drain();
  const r = await getJob(stack.deps, restore.jobId);
  expect(r.status, JSON.stringify(r.error)).toBe('Completed');
  const restored = r.result.disks as { diskKey: string; diskId: string }[];
  expect(restored).toHaveLength(backup.plan!.length);
  const store = stack.emulator.store;
  for (const d of backup.plan!) {
    const target = restored.find((x) => x.diskKey === d.diskKey)!;
    const src = EmulatorState.key(d.snapshotId),
      dst = EmulatorState.key(target.diskId);
    expect(store.get(dst)!.sizeBytes).toBe(d.sizeBytes);
    expect(contentDigest(store, dst)).toBe(contentDigest(store, src));
    expect(fingerprint(store, dst)).toBe(fingerprint(store, src));
    expect(point.disks.find((x) => x.diskKey === d.diskKey)!.digest).toBe(contentDigest(store, src));
  }
}

/** Every SAS was revoked when its job ended, and nothing was sent that Azure would reject. */
function expectCleanEnd(stack: AppStack): void {
  expect(stack.emulator.state.grants.size).toBe(0);
  expect(strictLimitViolations()).toEqual([]);
}

// Timeouts: at least 3x each test's time measured on a 2-core machine at a load of 18-25 (81, 55 and 132 s).
describe('six generations of a three-disk VM with small disks, through the services, Azurite and the emulator', () => {
  let stack: AppStack, itemKey: string, disks: Disk[];
  const backups: Job[] = [];
  beforeAll(async () => {
    // The stack's 48 MiB shards and 64 MiB segments: one segment per disk (each costs queue round trips), and
    // the 64 MiB disk still spans two shards. The fan-out over many shards and segments is the next describe's.
    ({ stack, itemKey, disks } = await stackWithVm({}, 'web1', [64 * MIB, 48 * MIB, 20 * MIB]));
  });
  afterAll(async () => stack?.stop());

  it(`backs up ${GENERATIONS} generations, each reading only what changed, between a freeze and a thaw`, { timeout: 300_000 }, async () => {
    const rand = rng(1234);
    for (let gen = 0; gen < GENERATIONS; gen++) {
      for (const d of disks) {
        scribble(stack, d, rand, 2048);
        if (gen === 0) fill(stack.emulator.store, d.key, d.size - 512, 512, 99); // the last page of every disk
        if ((gen === 0 || gen === 5) && d.size > 16 * MIB) {
          for (const b of [16, 32, 48]) if (b * MIB < d.size) fill(stack.emulator.store, d.key, b * MIB - 1536 * 1024 - 1024, 3 * MIB, gen * 100 + b); // across cell and shard lines
        }
        if (gen === 4) trim(stack.emulator.store, d.key, 0, d.size); // a whole-disk trim
      }
      const { job, changed } = await backupReadingOnlyChanges(stack, itemKey, disks.length);
      expect(gen === 4 || changed > 0).toBe(true);
      backups.push(job);
    }
    // The freeze script ran before and the thaw after every backup's snapshots.
    expect(stack.emulator.state.runCommands.length).toBe(2 * GENERATIONS);
    expect(await stack.deps.repos.points.all(itemKey)).toHaveLength(GENERATIONS);
    expectCleanEnd(stack);
  });

  it(`restores every one of the ${GENERATIONS} recovery points byte-exact`, { timeout: 300_000 }, async () => {
    expect(backups, 'the backups of the test above').toHaveLength(GENERATIONS);
    for (const job of backups) await expectExactRestore(stack, itemKey, job);
    expectCleanEnd(stack);
  });
});

describe('a 64 GiB disk over 4 shards and 32 segments, through the services, Azurite and the emulator', () => {
  let stack: AppStack, itemKey: string, disks: Disk[];
  beforeAll(async () => {
    // 16 GiB shards and 2 GiB segments: the 64 GiB disk spans 4 shards and fans out over 32 segments.
    ({ stack, itemKey, disks } = await stackWithVm({ VMBACKUP_SHARD_SIZE_MIB: String(16 * 1024), VMBACKUP_SEGMENT_SIZE_MIB: '2048', VMBACKUP_DIFF_WINDOW_MIB: '512' }, 'db1', [256 * MIB, 64 * GIB]));
  });
  afterAll(async () => stack?.stop());

  it('backs up a full and an incremental with writes across the shard lines and restores both byte-exact', { timeout: 400_000 }, async () => {
    const rand = rng(4321);
    const backups: Job[] = [];
    for (let gen = 0; gen < 2; gen++) {
      for (const d of disks) {
        scribble(stack, d, rand, 8192);
        if (gen === 0) fill(stack.emulator.store, d.key, d.size - 512, 512, 99); // the last page, past 2^32 bytes
        if (d.size > 16 * GIB) for (const b of [16, 32, 48]) fill(stack.emulator.store, d.key, b * GIB - 3 * MIB - 1024, 7 * MIB, gen * 100 + b);
      }
      const { job, changed } = await backupReadingOnlyChanges(stack, itemKey, disks.length);
      expect(changed).toBeGreaterThan(0);
      backups.push(job);
    }
    for (const job of backups) await expectExactRestore(stack, itemKey, job);
    expectCleanEnd(stack);
  });
});
