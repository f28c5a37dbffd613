import { afterEach, describe, expect, it } from 'vitest';
import { coalesce } from '../../src/core/domain/ranges';
import { vhdFooter } from '../../src/core/engine/vhd';
import { emulatorWorld, memoryWorld, type ComputeWorld, type WorldFactory } from '../support/compute-worlds';
import { SUB } from '../support/memory-deps';
import { pattern } from '../support/memory-fixtures';

const KIB = 1024,
  MIB = 1024 * KIB;
const snap = (diskId: string, name: string) => ({ diskId, resourceGroup: 'rg', name, location: 'westeurope' });

/**
 * One suite, every DataPlane: managed-disk data behind grantAccess SAS URLs, as Azure Storage serves page blobs
 * (https://learn.microsoft.com/rest/api/storageservices/get-page-ranges with x-ms-previous-snapshot-url for
 * incremental snapshots of managed disks; https://learn.microsoft.com/rest/api/storageservices/put-page;
 * https://learn.microsoft.com/azure/virtual-machines/linux/disks-upload-vhd-to-managed-disk-cli).
 */
function dataPlaneContract(name: string, make: WorldFactory): void {
  describe(`DataPlane contract: ${name}`, () => {
    let w: ComputeWorld | undefined;
    afterEach(async () => {
      await w?.close();
      w = undefined;
    });
    const osDisk = async (): Promise<{ w: ComputeWorld; diskId: string }> => {
      w = await make();
      const vm = await w.createVm({
        resourceGroup: 'rg',
        name: 'vm1',
        disks: [
          { name: 'vm1-os', sizeBytes: 32 * MIB, lun: -1 },
          { name: 'vm1-d0', sizeBytes: 24 * MIB, lun: 0 },
        ],
      });
      return { w, diskId: vm.disks[0]!.diskId };
    };
    const all = { start: 0, end: 32 * MIB };

    it('reads a snapshot through its SAS: valid ranges are what was written, the rest reads as zeros', async () => {
      const { w, diskId } = await osDisk();
      w.write(diskId, 0, pattern(64 * KIB, 1));
      w.write(diskId, 8 * MIB - 512, pattern(1024, 2));
      const s = await w.compute.createIncrementalSnapshot(snap(diskId, 's1'));
      w.write(diskId, 0, pattern(512, 3)); // after the snapshot: not in it
      const src = w.dataPlane.openSource(await w.compute.grantSnapshotRead(s.id, 3600));
      expect(coalesce(await src.validRanges(all))).toEqual([
        { start: 0, end: 64 * KIB },
        { start: 8 * MIB - 512, end: 8 * MIB + 512 },
      ]);
      expect(coalesce(await src.validRanges({ start: 4 * MIB, end: 8 * MIB }))).toEqual([{ start: 8 * MIB - 512, end: 8 * MIB }]);
      expect((await src.read({ start: 0, end: 64 * KIB })).equals(pattern(64 * KIB, 1))).toBe(true);
      expect((await src.read({ start: MIB, end: MIB + 4 * KIB })).equals(Buffer.alloc(4 * KIB))).toBe(true);
    });

    it('diffs an incremental snapshot against an older one: pages written since (changed) and trimmed since (cleared)', async () => {
      const { w, diskId } = await osDisk();
      w.write(diskId, 0, pattern(64 * KIB, 1));
      w.write(diskId, 4 * MIB, pattern(8 * KIB, 2));
      const s1 = await w.compute.createIncrementalSnapshot(snap(diskId, 's1'));
      w.write(diskId, 16 * KIB, pattern(4 * KIB, 3)); // overwrite inside the first range
      w.write(diskId, 20 * MIB, pattern(512, 4)); // new
      w.trim(diskId, 4 * MIB, 8 * KIB); // trimmed data
      const s2 = await w.compute.createIncrementalSnapshot(snap(diskId, 's2'));
      const base = await w.compute.grantSnapshotRead(s1.id, 3600);
      const src = w.dataPlane.openSource(await w.compute.grantSnapshotRead(s2.id, 3600));
      const d = await src.diff(all, base);
      expect(coalesce(d.changed)).toEqual([
        { start: 16 * KIB, end: 20 * KIB },
        { start: 20 * MIB, end: 20 * MIB + 512 },
      ]);
      expect(coalesce(d.cleared)).toEqual([{ start: 4 * MIB, end: 4 * MIB + 8 * KIB }]);
      // The base must be older and of the same disk.
      const newer = w.dataPlane.openSource(base);
      await expect(newer.diff(all, await w.compute.grantSnapshotRead(s2.id, 3600))).rejects.toMatchObject({ statusCode: 409 });
    });

    it('answers 403 once the SAS is revoked or has expired', async () => {
      const { w, diskId } = await osDisk();
      w.write(diskId, 0, pattern(512, 1));
      const s = await w.compute.createIncrementalSnapshot(snap(diskId, 's1'));
      const revoked = w.dataPlane.openSource(await w.compute.grantSnapshotRead(s.id, 3600));
      await revoked.read({ start: 0, end: 512 });
      await w.compute.revokeSnapshot(s.id);
      await expect(revoked.read({ start: 0, end: 512 })).rejects.toMatchObject({ statusCode: 403 });
      const short = w.dataPlane.openSource(await w.compute.grantSnapshotRead(s.id, 300));
      await short.validRanges(all);
      w.advance(301_000);
      await expect(short.validRanges(all)).rejects.toMatchObject({ statusCode: 403 });
    });

    it('uploads into a disk in upload state: aligned Put Page of at most 4 MiB, a read SAS cannot write', async () => {
      const { w, diskId } = await osDisk();
      const d = await w.compute.createUploadDisk({ subscriptionId: SUB, resourceGroup: 'rg', name: 'up', location: 'westeurope', sizeBytes: 20 * MIB });
      const target = w.dataPlane.openTarget(await w.compute.grantDiskWrite(d.id, 3600));
      await target.putPages(MIB, pattern(4 * MIB, 1));
      await expect(target.putPages(100, pattern(512, 1))).rejects.toMatchObject({ statusCode: 416 });
      await expect(target.putPages(0, pattern(4 * MIB + 512, 1))).rejects.toThrow();
      await expect(target.putPages(20 * MIB + 512, pattern(512, 1))).rejects.toMatchObject({ statusCode: 416 }); // past the footer
      const s = await w.compute.createIncrementalSnapshot(snap(diskId, 's1'));
      const readOnly = w.dataPlane.openTarget(await w.compute.grantSnapshotRead(s.id, 3600));
      await expect(readOnly.putPages(0, pattern(512, 1))).rejects.toMatchObject({ statusCode: 403 });
    });

    it('ends an upload on revoke only with a valid VHD footer, which it drops; then the SAS no longer writes', async () => {
      const { w } = await osDisk();
      const d = await w.compute.createUploadDisk({ subscriptionId: SUB, resourceGroup: 'rg', name: 'up', location: 'westeurope', sizeBytes: 20 * MIB });
      const sas = await w.compute.grantDiskWrite(d.id, 3600);
      const target = w.dataPlane.openTarget(sas);
      await target.putPages(0, pattern(8 * KIB, 1));
      await expect(w.compute.revokeDisk(d.id)).rejects.toMatchObject({ code: 'InvalidVhd' });
      expect((await w.compute.getDisk(d.id))!.state).toBe('ReadyToUpload');
      const again = w.dataPlane.openTarget(await w.compute.grantDiskWrite(d.id, 3600));
      await again.putPages(20 * MIB, vhdFooter(20 * MIB));
      await w.compute.revokeDisk(d.id);
      expect(await w.compute.getDisk(d.id)).toMatchObject({ state: 'Unattached', sizeBytes: 20 * MIB });
      expect(w.read(d.id, 0, 8 * KIB).equals(pattern(8 * KIB, 1))).toBe(true);
      await expect(again.putPages(0, pattern(512, 2))).rejects.toMatchObject({ statusCode: 403 });
    });
  });
}

dataPlaneContract('memory', memoryWorld);
dataPlaneContract('compute emulator (SasDataPlane)', emulatorWorld);
