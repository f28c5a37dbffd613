import { describe, expect, it } from 'vitest';
import { backupNow } from '../../../src/core/workflows/protection/protection';
import { requestRestore } from '../../../src/core/workflows/restore/restore';
import { deletePoint } from '../../../src/core/workflows/protection/retention';
import { ConflictError, httpStatusFor } from '../../../src/core/errors';
import { failing, memoryDeps, MIB, type MemoryStack } from '../../support/memory-deps';
import { manifestPartBlob } from '../../../src/core/store/layout';
import { finished, pattern, registeredVm, type TestVm } from '../../support/memory-fixtures';

async function backedUp(s: MemoryStack): Promise<{ vm: TestVm; pointId: string; os: Buffer; data: Buffer }> {
  const vm = await registeredVm(s);
  const os = s.cloud.readDisk(vm.osDiskId),
    data = s.cloud.readDisk(vm.dataDiskId);
  const job = await backupNow(s.deps, vm.itemKey);
  await s.drain();
  await finished(s, job.jobId);
  // The guest goes on writing: a restore must bring back the point, not today's disk.
  s.cloud.writeDisk(vm.osDiskId, 0, pattern(MIB, 99));
  return { vm, pointId: job.jobId, os, data };
}

type RestoredDisk = { diskKey: string; lun: number; diskId: string };

describe('restore workflow (memory adapters)', () => {
  it('restores every disk into new managed disks with the exact bytes of the point, VHD footer accepted and dropped', async () => {
    const s = memoryDeps();
    const { vm, pointId, os, data } = await backedUp(s);
    const job = await requestRestore(s.deps, { itemKey: vm.itemKey, pointId, mode: 'newDisks', source: 'vault' });
    await s.drain();
    const done = await finished(s, job.jobId);
    const disks = done.result.disks as RestoredDisk[];
    expect(disks.map((d) => d.diskKey).sort()).toEqual(['lun-0', 'os']);
    const byKey = new Map(disks.map((d) => [d.diskKey, d.diskId]));
    const osDisk = s.cloud.disk(byKey.get('os')!)!;
    expect(osDisk.state).toBe('Unattached'); // out of upload state: revoking the write SAS checked the footer
    expect(osDisk.content.size).toBe(32 * MIB);
    expect(s.cloud.readDisk(byKey.get('os')!).equals(os)).toBe(true);
    expect(s.cloud.readDisk(byKey.get('lun-0')!).equals(data)).toBe(true);
    expect(s.cloud.vm(vm.vmId)!.osDiskId).toBe(vm.osDiskId); // newDisks leaves the VM alone
    expect(s.cloud.grants.size).toBe(0);
    expect((await s.deps.repos.items.get(vm.itemKey))!.doc.lockOwner).toBeUndefined();
  });

  it('replaces the VM disks: deallocates, swaps, starts again', async () => {
    const s = memoryDeps();
    const { vm, pointId, os } = await backedUp(s);
    const job = await requestRestore(s.deps, { itemKey: vm.itemKey, pointId, mode: 'replaceDisks', source: 'vault' });
    await s.drain();
    const done = await finished(s, job.jobId);
    const now = s.cloud.vm(vm.vmId)!;
    expect(now.osDiskId).not.toBe(vm.osDiskId);
    expect(now.powerState).toBe('running');
    expect(s.cloud.readDisk(now.osDiskId).equals(os)).toBe(true);
    expect(s.cloud.disk(vm.osDiskId)!.state).toBe('Unattached'); // the old disk is kept, detached
    expect(done.result.swapped).toBe(true);
  });

  it('refuses a soft-deleted point (409 RecoveryPointSoftDeleted) and a corrupt one (409 RecoveryPointCorrupt)', async () => {
    const s = memoryDeps();
    const { vm, pointId } = await backedUp(s);
    await deletePoint(s.deps, vm.itemKey, pointId);
    const soft = await requestRestore(s.deps, { itemKey: vm.itemKey, pointId, mode: 'newDisks' }).catch((e: unknown) => e);
    expect(soft).toBeInstanceOf(ConflictError);
    expect((soft as ConflictError).code).toBe('RecoveryPointSoftDeleted');
    expect(httpStatusFor(soft)).toBe(409);
    await s.deps.repos.points.update(vm.itemKey, pointId, (p) => {
      p.state = 'Corrupt';
    });
    await expect(requestRestore(s.deps, { itemKey: vm.itemKey, pointId, mode: 'newDisks' })).rejects.toMatchObject({ code: 'RecoveryPointCorrupt' });
    expect(await s.deps.repos.jobs.all({ where: { type: 'Restore' } })).toEqual([]);
  });

  it('refuses a restore while another job holds the item (409 AnotherOperationInProgress)', async () => {
    const s = memoryDeps();
    const { vm, pointId } = await backedUp(s);
    await backupNow(s.deps, vm.itemKey);
    await s.deps.repos.items.update(vm.itemKey, (i) => {
      i.lockOwner = 'other-job';
      i.lockExpiresAt = new Date(s.clock.ms + 60_000);
    });
    await expect(requestRestore(s.deps, { itemKey: vm.itemKey, pointId, mode: 'newDisks' })).rejects.toMatchObject({ code: 'AnotherOperationInProgress' });
  });

  // Was a product bug (restore-corrupt-masked-by-revoke): the old restore revoked the write SAS in a `finally`,
  // and Azure's revoke of a disk without its footer (400 InvalidVhd, AzureStorageExplorer#8800) replaced the
  // RecoveryPointCorrupt error. The segmented restore revokes only in its finish step.
  it('fails RecoveryPointCorrupt when the shard data no longer matches the manifest', async () => {
    const s = memoryDeps();
    const { vm, pointId } = await backedUp(s);
    const point = (await s.deps.repos.points.get(vm.itemKey, pointId))!.doc;
    // The os disk's first manifest part swapped for the data disk's: the digests of its cells differ.
    const part = (d: string): string => manifestPartBlob(point.disks.find((x) => x.diskKey === d)!.manifest, 0);
    await s.store.putObject(part('os'), (await s.store.getObject(part('lun-0')))!);
    const job = await requestRestore(s.deps, { itemKey: vm.itemKey, pointId, mode: 'newDisks', source: 'vault' });
    await s.drain();
    const done = await finished(s, job.jobId, 'Failed');
    expect(done.error!.code, done.error!.message).toBe('RecoveryPointCorrupt');
  });

  it('starts a disk again from an empty upload disk after a delivery died mid-upload', async () => {
    const s = memoryDeps();
    const { vm, pointId, os } = await backedUp(s);
    // The first delivery's footer write fails (the process dies): its disk is left in upload state.
    const dp = s.deps.dataPlane;
    let writes = 0;
    const flaky = {
      openSource: dp.openSource.bind(dp),
      openTarget: (sas: string) => {
        const t = dp.openTarget(sas);
        return {
          putPages: async (o: number, d: Buffer) => {
            if (++writes === 3) throw new Error('connection reset');
            return t.putPages(o, d);
          },
        };
      },
    };
    s.deps.dataPlane = flaky;
    const job = await requestRestore(s.deps, { itemKey: vm.itemKey, pointId, mode: 'newDisks', source: 'vault' });
    await s.drain();
    const done = await finished(s, job.jobId);
    const osId = (done.result.disks as RestoredDisk[]).find((d) => d.diskKey === 'os')!.diskId;
    expect(s.cloud.readDisk(osId).equals(os)).toBe(true);
  });

  it('fails with the cause when the target disk cannot be created, and frees the item', async () => {
    const s = memoryDeps({ deps: (d) => ({ compute: failing(d.compute, 'createUploadDisk', () => Object.assign(new Error('quota exceeded'), { statusCode: 409, code: 'OperationNotAllowed' })) }) });
    const { vm, pointId } = await backedUp(s);
    const job = await requestRestore(s.deps, { itemKey: vm.itemKey, pointId, mode: 'newDisks', source: 'vault' });
    await s.drain();
    await finished(s, job.jobId, 'Failed');
    expect((await s.deps.repos.items.get(vm.itemKey))!.doc.lockOwner).toBeUndefined();
  });
});
