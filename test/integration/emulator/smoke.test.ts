import { it, expect } from 'vitest';
import { PageBlobClient } from '@azure/storage-blob';
import { withEmulator, computeClientFor, SUB } from '../../support/emulator';
it('smoke', async () => {
  const emu = await withEmulator({ lroDelayMs: 0 });
  emu.createVm({
    subscriptionId: SUB,
    resourceGroup: 'rg1',
    name: 'vm1',
    disks: [
      { name: 'os', sizeBytes: 64 * 1024 ** 2, lun: -1 },
      { name: 'd0', sizeBytes: 128 * 1024 ** 2, lun: 0 },
    ],
  });
  const c = computeClientFor(emu);
  const vms = [];
  for await (const v of c.virtualMachines.listAll()) vms.push(v);
  expect(vms.length).toBe(1);
  const vm = await c.virtualMachines.get('rg1', 'vm1', { expand: 'instanceView' });

  const diskId = vm.storageProfile!.dataDisks![0]!.managedDisk!.id!;
  emu.store.write(diskId.toLowerCase(), 4096, Buffer.alloc(8192, 7));
  const _s = await c.snapshots.beginCreateOrUpdateAndWait('rg1', 'snap1', { location: 'westeurope', incremental: true, creationData: { createOption: 'Copy', sourceResourceId: diskId } });

  const g = await c.snapshots.beginGrantAccessAndWait('rg1', 'snap1', { access: 'Read', durationInSeconds: 600 });

  const pb = new PageBlobClient(g.accessSAS!);
  const _r = await pb.getPageRanges(0, 128 * 1024 * 1024);

  const b = await pb.downloadToBuffer(4096, 512);
  expect(b[0]).toBe(7);
  await c.snapshots.beginRevokeAccessAndWait('rg1', 'snap1');
  await expect(pb.getProperties()).rejects.toThrow();
  await emu.close();
});
