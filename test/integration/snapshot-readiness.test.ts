import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAppStack, type AppStack } from '../support/app-stack';
import { SUB } from '../support/emulator';
import { EmulatorState } from '../../src/emulator/arm/state';
import { contentDigest, fill } from '../../src/emulator/guest';
import { backupNow, requestRegistration } from '../../src/core/workflows/protection/protection';
import { requestRestore } from '../../src/core/workflows/restore/restore';
import { getJob } from '../../src/core/jobs/jobs';
import { requestCancel } from '../../src/core/jobs/run-step';
import { QUEUES } from '../../src/core/config';
import { itemKeyFor } from '../../src/core/store/layout';
import type { Logger } from '../../src/core/ports/logger';

const MIB = 1024 ** 2;

/** Every warn and error line the services log, so a test can say that no delivery failed. */
function capturingLog(stack: AppStack): { msg: string; data?: Record<string, unknown> }[] {
  const lines: { msg: string; data?: Record<string, unknown> }[] = [];
  const log: Logger = { info() {}, warn: (msg, data) => void lines.push({ msg, data }), error: (msg, data) => void lines.push({ msg, data }) };
  (stack.deps as { log: Logger }).log = log;
  return lines;
}

async function registered(stack: AppStack, vmId: string): Promise<string> {
  const [reg] = await requestRegistration(stack.deps, [vmId]);
  await stack.drain();
  expect((await getJob(stack.deps, reg!.jobId)).status).toBe('Completed');
  return itemKeyFor(vmId);
}

/**
 * Premium SSD v2 and Ultra snapshots cannot be downloaded until their background copy reaches 100 %
 * (https://learn.microsoft.com/azure/virtual-machines/disks-incremental-snapshots), and 4096-byte-sector
 * snapshots are VHDX, granted with fileFormat VHDX (https://learn.microsoft.com/rest/api/compute/snapshots/grant-access).
 */
describe('a Premium SSD v2 disk, through the services, Azurite and the emulator', () => {
  let stack: AppStack;
  // A 3 s copy (about 50 Azure minutes at the default scale) outlasts the first 1 s look.
  beforeAll(async () => {
    stack = await startAppStack({}, [], {}, { fidelity: { snapshotCopyMs: 3000 } });
  }, 60_000);
  afterAll(async () => stack?.stop());

  it('backs up once its snapshot is ready, with no failed delivery', { timeout: 120_000 }, async () => {
    const vm = stack.emulator.createVm({
      subscriptionId: SUB,
      resourceGroup: 'pv2',
      name: 'db1',
      zones: ['1'],
      disks: [
        { name: 'db1-os', sizeBytes: 32 * MIB, lun: -1 },
        { name: 'db1-data', sizeBytes: 64 * MIB, lun: 0, sku: 'PremiumV2_LRS' },
        // 512-byte sectors: a VHD snapshot, which waits for its copy all the same.
        { name: 'db1-log', sizeBytes: 32 * MIB, lun: 1, sku: 'PremiumV2_LRS', logicalSectorSize: 512 },
      ],
    });
    const data = EmulatorState.key(stack.emulator.state.vm(vm.id)!.dataDisks[0]!.diskId);
    fill(stack.emulator.store, data, 0, 4 * MIB, 7);
    fill(stack.emulator.store, data, 40 * MIB, 512, 8);
    const itemKey = await registered(stack, vm.id);
    const log = capturingLog(stack);
    const phases: string[] = [];
    let snapshotDeliveries = 0;
    const job = await backupNow(stack.deps, itemKey);
    await stack.drain({
      beforeStep: async (queue, msg) => {
        if (queue !== QUEUES.snapshot || msg.jobId !== job.jobId) return;
        snapshotDeliveries++;
        phases.push((await getJob(stack.deps, job.jobId)).phase ?? '');
      },
    });
    const done = await getJob(stack.deps, job.jobId);
    expect(done.status, JSON.stringify(done.error)).toBe('Completed');
    // It waited: the step came back (with a visibility delay) while the job showed the copy's progress.
    expect(snapshotDeliveries).toBeGreaterThanOrEqual(2);
    expect(phases.some((p) => /^Waiting for snapshot: \d+ %$/.test(p))).toBe(true);
    // No delivery failed, and no grant was tried before the copy ended.
    expect(log.filter((l) => l.data?.jobId === job.jobId)).toEqual([]);
    expect(stack.emulator.armStats.snapshotsRefusedNotReady).toBe(0);
    const pv2 = done.plan!.find((d) => d.lun === 0)!;
    expect(pv2.logicalSectorSize).toBe(4096);
    expect(pv2.copyPending).toBeUndefined();
    expect(done.plan!.find((d) => d.lun === 1)!.logicalSectorSize).toBe(512);
    const point = (await stack.deps.repos.points.all(itemKey)).find((p) => p.pointId === done.result.recoveryPointId)!;
    const disk = point.disks.find((d) => d.lun === 0)!;
    expect(disk.changedBytes).toBe(4 * MIB + 512);
    expect(disk.digest).toBe(contentDigest(stack.emulator.store, EmulatorState.key(pv2.snapshotId)));
    expect(stack.emulator.state.grants.size).toBe(0);
  });
});

describe('a Premium SSD v2 backup cancelled while it waits for the snapshot copy', () => {
  let stack: AppStack;
  beforeAll(async () => {
    stack = await startAppStack({}, [], {}, { fidelity: { snapshotCopyMs: 60_000 } });
  }, 60_000);
  afterAll(async () => stack?.stop());

  it('ends Cancelled at once, with its snapshots deleted and the item free', { timeout: 120_000 }, async () => {
    const vm = stack.emulator.createVm({
      subscriptionId: SUB,
      resourceGroup: 'pv2',
      name: 'db2',
      zones: ['1'],
      disks: [
        { name: 'db2-os', sizeBytes: 32 * MIB, lun: -1 },
        { name: 'db2-data', sizeBytes: 32 * MIB, lun: 0, sku: 'PremiumV2_LRS' },
      ],
    });
    const itemKey = await registered(stack, vm.id);
    const job = await backupNow(stack.deps, itemKey);
    await stack.drain({
      beforeStep: async (queue, msg) => {
        if (queue === QUEUES.snapshot && msg.jobId === job.jobId && (await getJob(stack.deps, job.jobId)).phase?.startsWith('Waiting for snapshot')) await requestCancel(stack.deps, job.jobId);
      },
    });
    const done = await getJob(stack.deps, job.jobId);
    expect(done.status).toBe('Cancelled');
    expect([...stack.emulator.state.snapshots.values()].filter((s) => s.tags['vmbackup-job'] === job.jobId)).toEqual([]);
    expect((await stack.deps.repos.items.get(itemKey))!.doc.lockOwner).toBeUndefined();
  });
});

/**
 * A disk deleted and created again under the same name is a new instance: its snapshots carry another
 * sourceUniqueId and incrementalSnapshotFamilyId, and "The Get Page Range Diff API can only be called on incremental
 * snapshots with the same family id" (DiskRP snapshot.json). The backup copies it whole instead of failing the diff.
 */
describe('a data disk recreated under the same name', () => {
  let stack: AppStack;
  beforeAll(async () => {
    stack = await startAppStack();
  }, 60_000);
  afterAll(async () => stack?.stop());

  it('gets a full copy, not a failed diff, and restores exact', { timeout: 120_000 }, async () => {
    const r = stack.emulator.resources;
    const vm = stack.emulator.createVm({
      subscriptionId: SUB,
      resourceGroup: 'app',
      name: 'web1',
      disks: [
        { name: 'web1-os', sizeBytes: 32 * MIB, lun: -1 },
        { name: 'web1-data', sizeBytes: 64 * MIB, lun: 0 },
      ],
    });
    const rec = stack.emulator.state.vm(vm.id)!;
    const oldId = rec.dataDisks[0]!.diskId;
    fill(stack.emulator.store, EmulatorState.key(oldId), 0, 8 * MIB, 1);
    const itemKey = await registered(stack, vm.id);
    const first = await backupNow(stack.deps, itemKey);
    await stack.drain();
    expect((await getJob(stack.deps, first.jobId)).status).toBe('Completed');
    stack.emulator.clock.advance(60_000);

    // Detach, delete, create again with the same name, attach at the same LUN.
    r.patchVm(rec, { properties: { storageProfile: { dataDisks: [] } } });
    r.deleteDisk(stack.emulator.state.disk(oldId)!);
    const again = r.putDisk(SUB, 'app', 'web1-data', { location: 'westeurope', sku: { name: 'Premium_LRS' }, properties: { creationData: { createOption: 'Empty' }, diskSizeBytes: 64 * MIB } });
    expect(again.id.toLowerCase()).toBe(oldId.toLowerCase());
    r.patchVm(rec, { properties: { storageProfile: { dataDisks: [{ lun: 0, managedDisk: { id: again.id } }] } } });
    fill(stack.emulator.store, EmulatorState.key(again.id), 16 * MIB, 2 * MIB, 2);

    const second = await backupNow(stack.deps, itemKey);
    await stack.drain();
    const done = await getJob(stack.deps, second.jobId);
    // With a warning: the disk is copied whole, and the job says why.
    expect(done.status, JSON.stringify(done.error)).toBe('CompletedWithWarnings');
    const d = done.plan!.find((x) => x.lun === 0)!;
    expect(d.full).toBe(true);
    expect(d.fullReason).toMatch(/deleted and created again under the same name/);
    expect(done.warnings.join(' ')).toMatch(/web1-data.*copied whole/);

    const restore = await requestRestore(stack.deps, { itemKey, pointId: String(done.result.recoveryPointId), mode: 'newDisks', source: 'vault', targetResourceGroup: 'restored' });
    await stack.drain();
    const rj = await getJob(stack.deps, restore.jobId);
    expect(rj.status, JSON.stringify(rj.error)).toBe('Completed');
    const target = (rj.result.disks as { diskKey: string; diskId: string }[]).find((x) => x.diskKey === d.diskKey)!;
    // The new disk's content only: the old disk's 8 MiB must not survive in the shards.
    expect(contentDigest(stack.emulator.store, EmulatorState.key(target.diskId))).toBe(contentDigest(stack.emulator.store, EmulatorState.key(d.snapshotId)));
  });
});
