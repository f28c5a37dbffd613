import { cpSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BlobServiceClient } from '@azure/storage-blob';
import { startAppStack, type AppStack } from '../support/app-stack';
import { QUEUES } from '../../src/core/config';
import { exportStep } from '../../src/core/workflows/seeding/export';
import { importStep } from '../../src/core/workflows/seeding/import';

const SEED_STEPS = { [QUEUES.export]: exportStep, [QUEUES.import]: importStep };
import { SUB } from '../support/emulator';
import { EmulatorState } from '../../src/emulator/arm/state';
import { contentDigest, contentDigestV1, fill, fingerprint, write } from '../../src/emulator/guest';
import { requestRegistration } from '../../src/core/workflows/protection/protection';
import { requestRestore } from '../../src/core/workflows/restore/restore';
import { requestExport, requestImport } from '../../src/core/workflows/seeding/seeding';
import { requestCancel, runStep } from '../../src/core/jobs/run-step';
import { schedulerTick } from '../../src/core/workflows/protection/scheduler';
import { getJob } from '../../src/core/jobs/jobs';
import type { Job } from '../../src/core/domain/model';
import { MANIFEST_FILE, diskManifestOf, type PackageManifest } from '../../src/core/engine/package-format';
import { manifestDigest } from '../../src/core/engine/manifest';
import { strictLimitViolations } from '../../src/local/strict-limits';
import { itemKeyFor } from '../../src/core/store/layout';

const MIB = 1024 ** 2,
  GIB = 1024 ** 3;

function chunkFiles(dir: string): string[] {
  const out: string[] = [];
  for (const d of readdirSync(path.join(dir, 'disks'))) for (const f of readdirSync(path.join(dir, 'disks', d))) out.push(path.join(dir, 'disks', d, f));
  return out.sort();
}

describe('offline seeding: export the first backup to a folder, import it, continue incrementally', () => {
  let stack: AppStack;
  let vmId: string;
  let itemKey: string;
  const root = mkdtempSync(path.join(tmpdir(), 'vmb-seed-'));
  const sizes = { os: 256 * MIB, data: 6 * GIB };

  beforeAll(async () => {
    stack = await startAppStack({ VMBACKUP_SHARD_SIZE_MIB: '4096', VMBACKUP_SEGMENT_SIZE_MIB: '2048', VMBACKUP_DIFF_WINDOW_MIB: '512' }, [], SEED_STEPS);
    vmId = stack.emulator.createVm({
      subscriptionId: SUB,
      resourceGroup: 'remote',
      name: 'db1',
      osType: 'Linux',
      disks: [
        { name: 'db1-os', sizeBytes: sizes.os, lun: -1 },
        { name: 'db1-data', sizeBytes: sizes.data, lun: 0 },
      ],
    }).id;
    await stack.deps.repos.policies.insert({
      name: 'daily',
      timeZone: 'UTC',
      schedule: { frequency: 'Daily', times: ['02:00'] },
      retention: { dailyDays: 30 },
      instantRestoreDays: 2,
      consistency: { mode: 'CrashConsistent', scriptTimeoutSeconds: 60 },
    });
    await requestRegistration(stack.deps, [vmId], 'daily');
    await stack.drain();
    itemKey = itemKeyFor(vmId);
  }, 120_000);
  afterAll(async () => {
    await stack?.stop();
    rmSync(root, { recursive: true, force: true });
  });

  const blobsOfItem = async (): Promise<string[]> => {
    const c = BlobServiceClient.fromConnectionString(stack.env.VMBACKUP_STORAGE!).getContainerClient(stack.deps.config.backupContainer);
    const out: string[] = [];
    for await (const b of c.listBlobsFlat({ prefix: `backups/${itemKey}/`, includeSnapshots: true })) out.push(b.name);
    return out;
  };

  it('seeds from a package, then the scheduled backup copies only what changed, and every point restores exact', { timeout: 300_000 }, async () => {
    const store = stack.emulator.store;
    const vm = stack.emulator.state.vm(vmId)!;
    const osKey = EmulatorState.key(vm.osDiskId),
      dataKey = EmulatorState.key(vm.dataDisks[0]!.diskId);
    // Sparse: 56 MiB of data on a 6 GiB disk, some of it compressible, across the 4 GiB shard line.
    fill(store, dataKey, 3 * MIB + 512, 20 * MIB, 7);
    write(store, dataKey, 2 * GIB, Buffer.from('database page '.repeat((16 * MIB) / 14 + 1).slice(0, 16 * MIB)));
    fill(store, dataKey, 4 * GIB - 2 * MIB, 8 * MIB, 8);
    fill(store, dataKey, sizes.data - 512, 512, 9);
    fill(store, osKey, 0, 12 * MIB, 10);

    // 1. Export the first backup into a folder.
    const folder = path.join(root, 'pkg');
    const exp = await requestExport(stack.deps, { itemKey, location: { kind: 'folder', path: folder } });
    await stack.drain();
    const exported = await getJob(stack.deps, exp.jobId);
    expect(exported.status, JSON.stringify(exported.error)).toBe('Completed');
    const manifest = JSON.parse(readFileSync(path.join(folder, MANIFEST_FILE), 'utf8')) as PackageManifest;
    const dataBytes = manifest.disks.reduce((n, d) => n + d.dataBytes, 0);
    const packageBytes = chunkFiles(folder).reduce((n, f) => n + statSync(f).size, 0);
    expect(dataBytes).toBeLessThanOrEqual(24 * 4 * MIB); // only cells with data, nothing of the empty 6 GiB
    expect(packageBytes).toBeLessThan(dataBytes); // the text compresses
    expect(manifest.disks.map((d) => d.sourceSnapshot.id).sort()).toEqual(exported.plan!.map((d) => d.snapshotId).sort());

    // While the package travels, the scheduler does not start a full copy of the item.
    stack.emulator.clock.advance(86_400_000);
    expect((await schedulerTick(stack.deps)).jobsCreated).toBe(0);

    // 2. Import it: the item's first recovery point, the export's snapshots as diff bases.
    const imp = await requestImport(stack.deps, { itemKey, location: { kind: 'folder', path: folder } });
    await stack.drain();
    const imported = await getJob(stack.deps, imp.jobId);
    expect(imported.status, JSON.stringify(imported.error)).toBe('Completed');
    const item = (await stack.deps.repos.items.get(itemKey))!.doc;
    expect(item.state).toBe('Protected');
    expect(item.seed).toBeUndefined();
    expect(item.disks.map((d) => d.baseSnapshotId).sort()).toEqual(exported.plan!.map((d) => d.snapshotId).sort());
    expect(await stack.deps.repos.points.all(itemKey)).toHaveLength(1);

    // 3. The guest writes; the scheduled backup copies exactly those bytes.
    fill(store, dataKey, 5 * GIB + 4096, 3 * MIB, 11);
    fill(store, osKey, 64 * MIB, 512, 12);
    const written = 3 * MIB + 512;
    stack.emulator.clock.advance(86_400_000);
    const before = { ...stack.emulator.dataStats };
    expect((await schedulerTick(stack.deps)).jobsCreated).toBe(1);
    await stack.drain();
    const backups = (await stack.deps.repos.jobs.all()).filter((j) => j.type === 'Backup');
    expect(backups).toHaveLength(1);
    const backup = await getJob(stack.deps, backups[0]!.jobId);
    expect(backup.status, JSON.stringify(backup.error)).toBe('Completed');
    expect(backup.plan!.every((d) => !d.full)).toBe(true);
    const rows = await stack.deps.repos.segments.all(backup.jobId);
    expect(rows.reduce((n, r) => n + (r.stats.changedBytes ?? 0), 0)).toBe(written);
    expect(rows.reduce((n, r) => n + (r.stats.sourceBytesRead ?? 0), 0)).toBe(written);
    expect(stack.emulator.dataStats.readBytes - before.readBytes).toBe(written);

    // 4. Every recovery point restores to exactly the image its source snapshot holds.
    const points = await stack.deps.repos.points.all(itemKey);
    expect(points).toHaveLength(2);
    const sources = new Map<string, Job>([
      [imp.jobId, exported],
      [backup.jobId, backup],
    ]);
    for (const p of points) {
      const restore = await requestRestore(stack.deps, { itemKey, pointId: p.pointId, mode: 'newDisks', source: 'vault', targetResourceGroup: 'restored' });
      await stack.drain();
      const r = await getJob(stack.deps, restore.jobId);
      expect(r.status, JSON.stringify(r.error)).toBe('Completed');
      for (const d of sources.get(p.pointId)!.plan!) {
        const target = (r.result.disks as { diskKey: string; diskId: string }[]).find((x) => x.diskKey === d.diskKey)!;
        const src = EmulatorState.key(d.snapshotId),
          dst = EmulatorState.key(target.diskId);
        expect(contentDigest(store, dst)).toBe(contentDigest(store, src));
        expect(p.disks.find((x) => x.diskKey === d.diskKey)!.digest).toBe(contentDigest(store, src));
        expect(fingerprint(store, dst)).toBe(fingerprint(store, src));
      }
    }
    expect(stack.emulator.state.grants.size).toBe(0);
    expect(strictLimitViolations()).toEqual([]);

    // A recovery point exports too: read from its shard snapshots, each chunk checked against its manifest.
    const pointFolder = path.join(root, 'point');
    const pexp = await requestExport(stack.deps, { itemKey, pointId: backup.jobId, location: { kind: 'folder', path: pointFolder } });
    await stack.drain();
    expect((await getJob(stack.deps, pexp.jobId)).status).toBe('Completed');
    const pm = JSON.parse(readFileSync(path.join(pointFolder, MANIFEST_FILE), 'utf8')) as PackageManifest;
    expect(pm.source).toBe('RecoveryPoint');
    const backupPoint = points.find((p) => p.pointId === backup.jobId)!;
    // A package records format-1 (SHA-256) cells whatever the point's format: its digest is that of the same image.
    for (const d of pm.disks) expect(manifestDigest(diskManifestOf(d))).toBe(contentDigestV1(store, EmulatorState.key(backup.plan!.find((x) => x.diskKey === d.diskKey)!.snapshotId)));
    expect(backupPoint.disks.length).toBe(pm.disks.length);
    await expect(requestExport(stack.deps, { itemKey, location: { kind: 'folder', path: path.join(root, 'again') } })).rejects.toMatchObject({ code: 'ItemHasRecoveryPoints' });
    await expect(requestImport(stack.deps, { itemKey, location: { kind: 'container', container: stack.deps.config.backupContainer } })).rejects.toMatchObject({ code: 'PackageLocationInvalid' });

    // A second import into an item that has points is refused up front.
    await expect(requestImport(stack.deps, { itemKey, location: { kind: 'folder', path: folder } })).rejects.toMatchObject({ code: 'ItemHasRecoveryPoints' });
  });

  it('refuses a corrupted, a truncated and an unfinished package with nothing written to the item', { timeout: 180_000 }, async () => {
    const vm2 = stack.emulator.createVm({ subscriptionId: SUB, resourceGroup: 'remote', name: 'db2', osType: 'Linux', disks: [{ name: 'db2-os', sizeBytes: 2 * GIB, lun: -1 }] });
    const key2 = itemKeyFor(vm2.id);
    await requestRegistration(stack.deps, [vm2.id], 'daily');
    await stack.drain();
    const osKey = EmulatorState.key(vm2.osDiskId);
    for (let i = 0; i < 12; i++) fill(stack.emulator.store, osKey, i * 150 * MIB, 5 * MIB, 100 + i);
    const good = path.join(root, 'db2');
    await requestExport(stack.deps, { itemKey: key2, location: { kind: 'folder', path: good } });
    await stack.drain();
    const itemBefore = (await stack.deps.repos.items.get(key2))!.doc;
    itemKey = key2;

    const variants: { name: string; damage: (dir: string) => void; code: string }[] = [
      {
        name: 'corrupt',
        code: 'PackageChecksumMismatch',
        damage: (dir) => {
          const f = chunkFiles(dir)[9]!; // late in the disk: earlier chunks are already in the shards when it is found
          const b = readFileSync(f);
          b[Math.floor(b.length / 2)]! ^= 0xff;
          writeFileSync(f, b);
        },
      },
      {
        name: 'truncated',
        code: 'PackageIncomplete',
        damage: (dir) => {
          const f = chunkFiles(dir)[3]!;
          truncateSync(f, statSync(f).size - 100);
        },
      },
      { name: 'missing-chunk', code: 'PackageIncomplete', damage: (dir) => rmSync(chunkFiles(dir)[0]!) },
      { name: 'unfinished', code: 'PackageIncomplete', damage: (dir) => rmSync(path.join(dir, 'complete.json')) },
    ];
    for (const v of variants) {
      const dir = path.join(root, `db2-${v.name}`);
      cpSync(good, dir, { recursive: true });
      v.damage(dir);
      const job = await requestImport(stack.deps, { itemKey: key2, location: { kind: 'folder', path: dir } });
      await stack.drain();
      const done = await getJob(stack.deps, job.jobId);
      expect(done.status, v.name).toBe('Failed');
      expect(done.error?.code, v.name).toBe(v.code);
      expect(done.error?.recommendedAction, v.name).toMatch(/\w/);
      expect(await stack.deps.repos.points.all(key2), v.name).toHaveLength(0);
      expect(await blobsOfItem(), v.name).toEqual([]);
      const itemAfter = (await stack.deps.repos.items.get(key2))!.doc;
      expect(JSON.parse(JSON.stringify(itemAfter)), v.name).toEqual(JSON.parse(JSON.stringify(itemBefore)));
    }

    // The intact package still imports; without its source snapshot, the next backup is a full copy.
    const exportJob = (await stack.deps.repos.jobs.all()).find((j) => j.type === 'Export' && j.itemKey === key2)!;
    await stack.deps.compute.deleteSnapshot(exportJob.plan![0]!.snapshotId);
    const ok = await requestImport(stack.deps, { itemKey: key2, location: { kind: 'folder', path: good } });
    await stack.drain();
    const done = await getJob(stack.deps, ok.jobId);
    expect(done.status, JSON.stringify(done.error)).toBe('CompletedWithWarnings');
    expect(done.warnings.join(' ')).toMatch(/BaseSnapshotMissing.*Recommended action/);
    expect(done.result.fullCopyNext).toEqual(['os']);
    stack.emulator.clock.advance(86_400_000);
    await schedulerTick(stack.deps);
    await stack.drain();
    const next = (await stack.deps.repos.jobs.all()).find((j) => j.type === 'Backup' && j.itemKey === key2)!;
    expect(next.status).toBe('CompletedWithWarnings');
    expect(next.plan![0]!.full).toBe(true);
    expect(next.plan![0]!.fullReason).toMatch(/snapshot no longer exists/);
  });

  it('a cancelled export leaves no snapshot behind; a seed that never arrives stops blocking the schedule', { timeout: 180_000 }, async () => {
    const vm3 = stack.emulator.createVm({ subscriptionId: SUB, resourceGroup: 'remote', name: 'db3', osType: 'Linux', disks: [{ name: 'db3-os', sizeBytes: GIB, lun: -1 }] });
    const key3 = itemKeyFor(vm3.id);
    await requestRegistration(stack.deps, [vm3.id], 'daily');
    await stack.drain();
    fill(stack.emulator.store, EmulatorState.key(vm3.osDiskId), 0, 20 * MIB, 31);
    const job = await requestExport(stack.deps, { itemKey: key3, location: { kind: 'folder', path: path.join(root, 'db3-cancelled') } }, { enqueue: false });
    // The first delivery dies mid-export (after its snapshots): the job stays InProgress with its plan.
    const attempt = { dequeueCount: 1, maxDequeueCount: 5 };
    await expect(
      runStep(stack.deps, job.jobId, attempt, () =>
        exportStep(stack.deps, job, {
          onProgress: () => {
            throw new Error('worker recycled');
          },
        }),
      ),
    ).rejects.toThrow('worker recycled');
    const snapshotId = (await getJob(stack.deps, job.jobId)).plan![0]!.snapshotId;
    expect(await stack.deps.compute.getSnapshot(snapshotId)).toBeDefined();
    expect((await requestCancel(stack.deps, job.jobId)).status).toBe('Cancelling');
    await runStep(stack.deps, job.jobId, { dequeueCount: 2, maxDequeueCount: 5 }, () => exportStep(stack.deps, job));
    expect((await getJob(stack.deps, job.jobId)).status).toBe('Cancelled');
    expect(await stack.deps.compute.getSnapshot(snapshotId)).toBeUndefined();
    let item = (await stack.deps.repos.items.get(key3))!.doc;
    expect(item.lockOwner).toBeUndefined();
    expect(item.seed).toBeUndefined();

    await requestExport(stack.deps, { itemKey: key3, location: { kind: 'folder', path: path.join(root, 'db3') } });
    await stack.drain();
    item = (await stack.deps.repos.items.get(key3))!.doc;
    expect(item.seed).toBeDefined();
    const backupsOf3 = async (): Promise<number> => (await stack.deps.repos.jobs.all()).filter((j) => j.type === 'Backup' && j.itemKey === key3).length;
    stack.emulator.clock.advance(86_400_000);
    await schedulerTick(stack.deps);
    expect(await backupsOf3()).toBe(0);
    stack.emulator.clock.advance(30 * 86_400_000);
    await schedulerTick(stack.deps);
    expect(await backupsOf3()).toBe(1);
  });

  it('renews the source SAS when a long export outlives it', { timeout: 120_000 }, async () => {
    const vm4 = stack.emulator.createVm({ subscriptionId: SUB, resourceGroup: 'remote', name: 'db4', osType: 'Linux', disks: [{ name: 'db4-os', sizeBytes: GIB, lun: -1 }] });
    const key4 = itemKeyFor(vm4.id);
    await requestRegistration(stack.deps, [vm4.id], 'daily');
    await stack.drain();
    const osKey = EmulatorState.key(vm4.osDiskId);
    fill(stack.emulator.store, osKey, 0, 96 * MIB, 41);
    const job = await requestExport(stack.deps, { itemKey: key4, location: { kind: 'folder', path: path.join(root, 'db4') } }, { enqueue: false });
    let advanced = false;
    // After the first chunk the SAS is two hours old: every later read would get 403 without a renewal.
    await runStep(stack.deps, job.jobId, { dequeueCount: 1, maxDequeueCount: 1 }, () =>
      exportStep(stack.deps, job, {
        onProgress: () => {
          if (!advanced) stack.emulator.clock.advance(2 * 3600_000);
          advanced = true;
        },
      }),
    );
    const done = await getJob(stack.deps, job.jobId);
    expect(done.status, JSON.stringify(done.error)).toBe('Completed');
    const m = JSON.parse(readFileSync(path.join(root, 'db4', MANIFEST_FILE), 'utf8')) as PackageManifest;
    expect(m.disks[0]!.chunks).toHaveLength(24);
    expect(manifestDigest(diskManifestOf(m.disks[0]!))).toBe(contentDigestV1(stack.emulator.store, EmulatorState.key(done.plan![0]!.snapshotId)));
  });
});
