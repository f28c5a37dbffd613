import { request } from 'node:https';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PipelinePolicy } from '@azure/core-rest-pipeline';
import { startAppStack, type AppStack } from '../support/app-stack';
import { SUB } from '../support/emulator';
import { EmulatorState } from '../../src/emulator/arm/state';
import { contentDigest, fill } from '../../src/emulator/guest';
import { backupNow, requestRegistration } from '../../src/core/workflows/protection/protection';
import { requestRestore } from '../../src/core/workflows/restore/restore';
import { getJob } from '../../src/core/jobs/jobs';
import { itemKeyFor } from '../../src/core/store/layout';
import { errorBody, httpStatusFor } from '../../src/core/errors';
import { pointViewsWithInstant, pointViewWithInstant } from '../../src/core/views/point-instant';
import type { Job, RecoveryPoint } from '../../src/core/domain/model';

const MIB = 1024 ** 2;
const GIB = 1024 ** 3;
const TIB = 1024 ** 4;

/** The emulator's own inspection route over HTTPS, as a person trying the stack would read it. */
function emulatorGet(s: AppStack, route: string): Promise<any> {
  // eslint-disable-line @typescript-eslint/no-explicit-any
  return new Promise((resolve, reject) => {
    const req = request(`${s.emulator.armEndpoint}${route}`, { ca: s.emulator.caCert }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => {
        body += c.toString();
      });
      res.on('end', () => {
        try {
          resolve(JSON.parse(body));
        } catch (e) {
          reject(e);
        }
      });
    });
    req.on('error', reject);
    req.end();
  });
}

/** Counts the app's reads of backup data (shard and manifest blobs) in the backup storage account. */
function backupReads(): PipelinePolicy & { count: number } {
  const p = {
    name: 'backupReads',
    count: 0,
    async sendRequest(req: Parameters<PipelinePolicy['sendRequest']>[0], next: Parameters<PipelinePolicy['sendRequest']>[1]) {
      if (req.method === 'GET' && /\/(backups|manifests)\//.test(decodeURIComponent(new URL(req.url).pathname))) p.count++;
      return next(req);
    },
  };
  return p;
}

/**
 * Instant restore (Azure Backup's snapshot tier, https://learn.microsoft.com/azure/backup/backup-instant-restore-capability):
 * disks created from the point's source snapshots with createOption Copy (DiskRP disk.json CreationData;
 * disks-incremental-snapshots.md "create a disk from the snapshot"), so the platform copies and the app moves
 * no data, whatever the disk's size. The emulator stores disks sparsely, so a 1 TiB disk costs its data only.
 */
describe('instant restore from source snapshots: 1 GiB and 1 TiB disks, the vault as fallback', () => {
  let s: AppStack;
  const reads = backupReads();
  const vms: Record<'small' | 'large', { vmId: string; itemKey: string; point: RecoveryPoint }> = {} as never;

  beforeAll(async () => {
    // Segments and shards large enough that a 1 TiB disk is a handful of messages and one shard.
    s = await startAppStack({ VMBACKUP_SEGMENT_SIZE_MIB: String(256 * 1024), VMBACKUP_SHARD_SIZE_MIB: String(1024 * 1024), VMBACKUP_DIFF_WINDOW_MIB: String(64 * 1024) }, [reads]);
    await s.deps.repos.policies.insert({
      name: 'ir3',
      timeZone: 'UTC',
      schedule: { frequency: 'Daily', times: ['02:00'] },
      retention: { dailyDays: 30 },
      instantRestoreDays: 3,
      consistency: { mode: 'CrashConsistent', scriptTimeoutSeconds: 60 },
    });
    for (const [kind, dataSize] of [
      ['small', GIB],
      ['large', TIB],
    ] as const) {
      const vm = s.emulator.createVm({
        subscriptionId: SUB,
        resourceGroup: 'rg',
        name: kind,
        zones: ['2'],
        hyperVGeneration: 'V2',
        disks: [
          { name: `${kind}-os`, sizeBytes: GIB, lun: -1 },
          { name: `${kind}-data`, sizeBytes: dataSize, lun: 0, sku: 'StandardSSD_LRS' },
        ],
      });
      fill(s.emulator.store, EmulatorState.key(vm.osDiskId), 0, 6 * MIB, 1);
      const data = EmulatorState.key(vm.dataDisks[0]!.diskId);
      fill(s.emulator.store, data, 8 * MIB, 5 * MIB, 2);
      // The last MiB of the disk: a copy that stopped short of the nominal end would lose it.
      fill(s.emulator.store, data, dataSize - MIB, MIB, 3);
      const itemKey = itemKeyFor(vm.id);
      await requestRegistration(s.deps, [vm.id], 'ir3');
      await s.drain();
      const b = await backupNow(s.deps, itemKey);
      await s.drain();
      expect((await getJob(s.deps, b.jobId)).status).toBe('Completed');
      vms[kind] = { vmId: vm.id, itemKey, point: (await s.deps.repos.points.get(itemKey, b.jobId))!.doc };
    }
  }, 300_000);
  afterAll(async () => s?.stop());

  /** The restored disks hold the point: equal content digests with the point's manifest and its source snapshot. */
  const exact = (job: Job, point: RecoveryPoint): void => {
    const disks = job.result.disks as { diskKey: string; diskId: string }[];
    expect(disks).toHaveLength(point.disks.length);
    for (const d of disks) {
      const p = point.disks.find((x) => x.diskKey === d.diskKey)!;
      const restored = contentDigest(s.emulator.store, EmulatorState.key(d.diskId));
      expect(restored, d.diskKey).toBe(p.digest);
      expect(restored, d.diskKey).toBe(contentDigest(s.emulator.store, EmulatorState.key(p.sourceSnapshotId)));
      expect(s.emulator.state.disk(d.diskId)!.sizeBytes).toBe(p.sizeBytes);
    }
  };

  const restore = async (itemKey: string, pointId: string, source: 'auto' | 'snapshot' | 'vault'): Promise<Job> => {
    const r = await requestRestore(s.deps, { itemKey, pointId, mode: 'newDisks', source });
    await s.drain();
    return getJob(s.deps, r.jobId);
  };

  it("says each point restores instantly until its creation plus the policy's instant-restore days", async () => {
    const { itemKey, point } = vms.small;
    const [view] = await pointViewsWithInstant(s.deps, itemKey, false);
    expect(view).toMatchObject({ pointId: point.pointId, instantRestore: true });
    // The snapshots' creation (the first of them, as retention ages them) plus the policy's 3 days.
    const created = Math.min(...point.disks.map((d) => Date.parse(s.emulator.state.snapshot(d.sourceSnapshotId)!.timeCreated)));
    expect((view!.instantRestoreUntil as Date).getTime()).toBe(created + 3 * 86_400_000);
    expect(created).toBeGreaterThanOrEqual(point.createdAt.getTime());
  });

  it('restores 1 GiB and 1 TiB disks with the same ARM operations and no data bytes through the app', { timeout: 120_000 }, async () => {
    const seen: Record<string, { ops: string[]; readBytes: number; putPageBytes: number; backupReads: number }> = {};
    for (const kind of ['small', 'large'] as const) {
      const { itemKey, point } = vms[kind];
      const before = (await emulatorGet(s, '/_emulator/stats')).dataPlane;
      s.emulator.operations.clear();
      reads.count = 0;
      const job = await restore(itemKey, point.pointId, 'snapshot');
      expect(job.status, JSON.stringify(job.error)).toBe('Completed');
      expect(job.result.source).toBe('snapshot');
      const after = (await emulatorGet(s, '/_emulator/stats')).dataPlane;
      seen[kind] = {
        ops: s.emulator.operations.list.map((o) => `${o.method} ${o.resourceType} ${o.action}`),
        readBytes: after.readBytes - before.readBytes,
        putPageBytes: after.putPageBytes - before.putPageBytes,
        backupReads: reads.count,
      };
      exact(job, point);
      // The restore profile recorded at backup is applied: SKU, zone, generation and OS type of the source.
      const vm = s.emulator.state.vm(vms[kind].vmId)!;
      for (const d of job.result.disks as { diskKey: string; diskId: string; lun: number }[]) {
        const restored = s.emulator.state.disk(d.diskId)!;
        const source = s.emulator.state.disk(d.lun < 0 ? vm.osDiskId : vm.dataDisks[0]!.diskId)!;
        expect({ sku: restored.sku, zones: restored.zones, gen: restored.hyperVGeneration, os: restored.osType }, d.diskKey).toEqual({
          sku: source.sku,
          zones: source.zones,
          gen: source.hyperVGeneration,
          os: source.osType,
        });
        expect(restored.creationData as { createOption: string; sourceResourceId: string }).toMatchObject({
          createOption: 'Copy',
          sourceResourceId: point.disks.find((x) => x.diskKey === d.diskKey)!.sourceSnapshotId,
        });
      }
    }
    console.log(`instant restore, ARM operations (1 GiB / 1 TiB data disk): ${seen.small!.ops.length} / ${seen.large!.ops.length}`);
    expect(seen.large!.ops).toEqual(seen.small!.ops);
    expect(seen.small!.ops.filter((o) => o === 'PUT Microsoft.Compute/disks write')).toHaveLength(2);
    for (const k of ['small', 'large']) {
      expect(seen[k], k).toMatchObject({ readBytes: 0, putPageBytes: 0, backupReads: 0 });
      expect(
        seen[k]!.ops.some((o) => /beginGetAccess/.test(o)),
        `${k}: no SAS granted`,
      ).toBe(false);
    }
  });

  it('answers 409 InstantRestoreUnavailable for source snapshot once the snapshots are gone, and auto then copies from the vault', { timeout: 120_000 }, async () => {
    const { itemKey, point } = vms.small;
    for (const d of point.disks) await s.deps.compute.deleteSnapshot(d.sourceSnapshotId);
    const view = await pointViewWithInstant(s.deps, itemKey, point.pointId);
    expect(view).toMatchObject({ instantRestore: false });
    expect(String(view.instantRestoreNote)).toMatch(/no longer exists/);
    const err = await requestRestore(s.deps, { itemKey, pointId: point.pointId, mode: 'newDisks', source: 'snapshot' }).catch((e: unknown) => e);
    expect(httpStatusFor(err)).toBe(409);
    expect(errorBody(err).error).toMatchObject({
      code: 'InstantRestoreUnavailable',
      message: expect.stringMatching(/source snapshot of disk .* no longer exists/),
      recommendedAction: expect.stringMatching(/vault/),
    });
    reads.count = 0;
    const job = await restore(itemKey, point.pointId, 'auto');
    expect(job.status, JSON.stringify(job.error)).toBe('Completed');
    expect(job.result.source).toBe('vault');
    expect(reads.count).toBeGreaterThan(0);
    const disks = job.result.disks as { diskKey: string; diskId: string }[];
    for (const d of disks) expect(contentDigest(s.emulator.store, EmulatorState.key(d.diskId)), d.diskKey).toBe(point.disks.find((x) => x.diskKey === d.diskKey)!.digest);
  });

  it('falls back to the vault when the snapshots go between the request (auto) and its start', { timeout: 120_000 }, async () => {
    const { itemKey, point } = vms.large;
    const r = await requestRestore(s.deps, { itemKey, pointId: point.pointId, mode: 'newDisks', source: 'auto' });
    for (const d of point.disks) await s.deps.compute.deleteSnapshot(d.sourceSnapshotId);
    await s.drain();
    const job = await getJob(s.deps, r.jobId);
    expect(job.status, JSON.stringify(job.error)).toBe('Completed');
    expect(job.result.source).toBe('vault');
    for (const d of job.result.disks as { diskKey: string; diskId: string }[]) {
      expect(contentDigest(s.emulator.store, EmulatorState.key(d.diskId)), d.diskKey).toBe(point.disks.find((x) => x.diskKey === d.diskKey)!.digest);
    }
  });
});
