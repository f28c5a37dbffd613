import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { backupNow } from '../../../src/core/workflows/protection/protection';
import { requestRestore } from '../../../src/core/workflows/restore/restore';
import type { RestoredDisk } from '../../../src/core/workflows/restore/plan';
import { PageMap } from '../../../src/core/adapters/memory/pages';
import { memoryDeps, MIB, type MemoryStack } from '../../support/memory-deps';
import { finished, pattern, registeredVm, type TestVm } from '../../support/memory-fixtures';

const GUEST = 4 * MIB;
const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

/**
 * Trusted Launch on memory adapters: the guest state is read at backup through getSecureVMGuestStateSAS and
 * uploaded at restore into an UploadPreparedSecure disk (the same path over real HTTP against the compute
 * emulator: test/integration/replace-disks.test.ts; Disks - Grant Access,
 * https://learn.microsoft.com/rest/api/compute/disks/grant-access).
 */
async function trustedLaunchVm(s: MemoryStack): Promise<{ vm: TestVm; guest: Buffer }> {
  const vm = await registeredVm(s);
  s.cloud.vm(vm.vmId)!.securityType = 'TrustedLaunch';
  const os = s.cloud.disk(vm.osDiskId)!;
  os.securityType = 'TrustedLaunch';
  os.hyperVGeneration = 'V2';
  os.guestState = new PageMap(GUEST);
  const guest = pattern(GUEST, 41);
  os.guestState.write(0, guest);
  return { vm, guest };
}

describe('Trusted Launch restores from the vault (memory adapters)', () => {
  it('keeps the guest state with the point and replaces the OS disk in place with a disk that carries it', async () => {
    const s = memoryDeps();
    const { vm, guest } = await trustedLaunchVm(s);
    const os = s.cloud.readDisk(vm.osDiskId);
    const b = await backupNow(s.deps, vm.itemKey);
    await s.drain();
    await finished(s, b.jobId);
    const point = (await s.deps.repos.points.get(vm.itemKey, b.jobId))!.doc;
    const pos = point.disks.find((d) => d.lun < 0)!;
    expect(pos.guestState).toMatchObject({ sizeBytes: GUEST, sha256: sha(guest) });
    expect((await s.deps.store.getObject(pos.guestState!.blob))!.equals(guest)).toBe(true);
    expect(point.disks.find((d) => d.lun >= 0)!.guestState).toBeUndefined();

    const job = await requestRestore(s.deps, { itemKey: vm.itemKey, pointId: b.jobId, mode: 'replaceDisks', source: 'vault' });
    await s.drain();
    const done = await finished(s, job.jobId);
    expect(done.warnings.filter((w) => /security type/.test(w))).toEqual([]);
    const restoredOs = (done.result.disks as RestoredDisk[]).find((d) => d.diskKey === 'os')!.diskId;
    expect(s.cloud.vm(vm.vmId)!.osDiskId).toBe(restoredOs);
    const disk = s.cloud.disk(restoredOs)!;
    expect(disk.securityType).toBe('TrustedLaunch');
    expect(s.cloud.readDisk(restoredOs).equals(os)).toBe(true);
    expect(disk.guestState!.read({ start: 0, end: GUEST }).equals(guest)).toBe(true);
  });

  it('a changed guest-state copy in the backup storage fails the restore instead of uploading it', async () => {
    const s = memoryDeps();
    const { vm } = await trustedLaunchVm(s);
    const b = await backupNow(s.deps, vm.itemKey);
    await s.drain();
    await finished(s, b.jobId);
    const pos = (await s.deps.repos.points.get(vm.itemKey, b.jobId))!.doc.disks.find((d) => d.lun < 0)!;
    await s.deps.store.putObject(pos.guestState!.blob, pattern(GUEST, 42));
    const job = await requestRestore(s.deps, { itemKey: vm.itemKey, pointId: b.jobId, mode: 'newDisks', source: 'vault' });
    await s.drain();
    const failed = await finished(s, job.jobId, 'Failed');
    expect(failed.error).toMatchObject({ code: 'RecoveryPointCorrupt', message: expect.stringMatching(/guest state/) });
  });
});
