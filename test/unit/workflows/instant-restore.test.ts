import { describe, expect, it } from 'vitest';
import { backupNow } from '../../../src/core/workflows/protection/protection';
import { requestRestore } from '../../../src/core/workflows/restore/restore';
import type { ComputePort } from '../../../src/core/ports/compute';
import { memoryDeps, MIB, type MemoryStack } from '../../support/memory-deps';
import { finished, pattern, registeredVm, type TestVm } from '../../support/memory-fixtures';

async function backedUp(s: MemoryStack): Promise<{ vm: TestVm; pointId: string; os: Buffer; data: Buffer }> {
  const vm = await registeredVm(s);
  const os = s.cloud.readDisk(vm.osDiskId),
    data = s.cloud.readDisk(vm.dataDiskId);
  const job = await backupNow(s.deps, vm.itemKey);
  await s.drain();
  await finished(s, job.jobId);
  s.cloud.writeDisk(vm.osDiskId, 0, pattern(MIB, 99)); // later writes are not in the point
  return { vm, pointId: job.jobId, os, data };
}

type RestoredDisk = { diskKey: string; lun: number; diskId: string };

/** The compute port refusing every disk-from-snapshot whose name matches (a quota, say), the rest as usual. */
function refusingCopies(c: ComputePort, name: RegExp): ComputePort {
  const out = Object.create(c) as ComputePort;
  out.createDiskFromSnapshot = async (a) => {
    if (name.test(a.name)) throw Object.assign(new Error('quota exceeded'), { statusCode: 409, code: 'OperationNotAllowed' });
    return c.createDiskFromSnapshot(a);
  };
  return out;
}

describe('instant restore workflow (memory adapters)', () => {
  it('replaces the VM disks with disks created from the source snapshots, through the same finish as a vault restore', async () => {
    const s = memoryDeps();
    const { vm, pointId, os, data } = await backedUp(s);
    const job = await requestRestore(s.deps, { itemKey: vm.itemKey, pointId, mode: 'replaceDisks', source: 'snapshot' });
    await s.drain();
    const done = await finished(s, job.jobId);
    expect(done.result.source).toBe('snapshot');
    expect(done.result.swapped).toBe(true);
    const now = s.cloud.vm(vm.vmId)!;
    expect(now.osDiskId).not.toBe(vm.osDiskId);
    expect(s.cloud.readDisk(now.osDiskId).equals(os)).toBe(true);
    expect(s.cloud.readDisk(now.dataDisks[0]!.diskId).equals(data)).toBe(true);
    expect(done.bytesDone).toBe(0); // nothing copied through the app
    expect(done.segmentsDone).toBe(done.segmentsTotal);
    expect(s.cloud.grants.size).toBe(0);
    expect((await s.deps.repos.items.get(vm.itemKey))!.doc.lockOwner).toBeUndefined();
  });

  it('a failed instant restore deletes the disks it had created and frees the item', async () => {
    const s = memoryDeps({ deps: (d) => ({ compute: refusingCopies(d.compute, /-lun-0-/) }) });
    const { vm, pointId } = await backedUp(s);
    const before = new Set(s.cloud.disks.keys());
    const job = await requestRestore(s.deps, { itemKey: vm.itemKey, pointId, mode: 'newDisks', source: 'auto' });
    await s.drain();
    const failed = await finished(s, job.jobId, 'Failed');
    expect(failed.result.source).toBe('snapshot');
    expect([...s.cloud.disks.keys()].filter((k) => !before.has(k))).toEqual([]);
    expect((await s.deps.repos.items.get(vm.itemKey))!.doc.lockOwner).toBeUndefined();
  });

  it('restores instantly when no source is named (the default is auto: snapshots while they exist)', async () => {
    const s = memoryDeps();
    const { vm, pointId, os } = await backedUp(s);
    const job = await requestRestore(s.deps, { itemKey: vm.itemKey, pointId, mode: 'newDisks' });
    expect(job.params.source).toBe('auto');
    await s.drain();
    const done = await finished(s, job.jobId);
    expect(done.result.source).toBe('snapshot');
    expect(done.bytesDone).toBe(0);
    const osId = (done.result.disks as RestoredDisk[]).find((d) => d.diskKey === 'os')!.diskId;
    expect(s.cloud.readDisk(osId).equals(os)).toBe(true);
  });

  it('keeps the vault copy for a job admitted before the default changed (no source in its params)', async () => {
    const s = memoryDeps();
    const { vm, pointId, os } = await backedUp(s);
    const job = await requestRestore(s.deps, { itemKey: vm.itemKey, pointId, mode: 'newDisks', source: 'vault' });
    await s.deps.repos.jobs.update(job.jobId, (j) => {
      delete j.params.source;
    });
    await s.drain();
    const done = await finished(s, job.jobId);
    expect(done.result.source).toBeUndefined();
    expect(done.bytesDone).toBeGreaterThan(0);
    const osId = (done.result.disks as RestoredDisk[]).find((d) => d.diskKey === 'os')!.diskId;
    expect(s.cloud.readDisk(osId).equals(os)).toBe(true);
  });
});
