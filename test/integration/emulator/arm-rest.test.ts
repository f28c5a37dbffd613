import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import type { ComputeManagementClient } from '@azure/arm-compute';
import { PageBlobClient } from '@azure/storage-blob';
import type { ComputeEmulator } from '../../../src/emulator/server';
import { computeClientFor, SUB, withEmulator } from '../../support/emulator';

const MIB = 1024 ** 2;
const fast = { updateIntervalInMs: 5 };

async function status(p: Promise<unknown>): Promise<{ status?: number; code?: string }> {
  try {
    await p;
    return {};
  } catch (err) {
    const e = err as { statusCode?: number; code?: string; details?: { errorCode?: string } };
    return { status: e.statusCode, code: e.code ?? e.details?.errorCode };
  }
}

describe('compute emulator through the real @azure/arm-compute client', () => {
  let emu: ComputeEmulator;
  let c: ComputeManagementClient;
  beforeAll(async () => {
    emu = await withEmulator({ lroDelayMs: 20, pageSize: 2, limits: { maxIncrementalSnapshotsPerDisk: 12 } });
    c = computeClientFor(emu);
    for (let i = 0; i < 5; i++) {
      emu.createVm({
        subscriptionId: SUB,
        resourceGroup: i < 3 ? 'rg-a' : 'rg-b',
        name: `vm${i}`,
        disks: [
          { name: `vm${i}-os`, sizeBytes: 32 * MIB, lun: -1 },
          { name: `vm${i}-d0`, sizeBytes: 64 * MIB, lun: 0 },
        ],
      });
    }
  });
  afterAll(async () => emu?.close());

  it('pages VM lists with nextLink, per subscription and per resource group', async () => {
    const all: string[] = [];
    for await (const vm of c.virtualMachines.listAll()) all.push(vm.name!);
    expect(all.sort()).toEqual(['vm0', 'vm1', 'vm2', 'vm3', 'vm4']);
    const a: string[] = [];
    for await (const vm of c.virtualMachines.list('rg-a')) a.push(vm.name!);
    expect(a).toEqual(['vm0', 'vm1', 'vm2']);
    const pages = c.virtualMachines.listAll().byPage();
    expect((await pages.next()).value).toHaveLength(2);
  });

  it('reports power state and guest agent in the instance view, and follows power LROs', async () => {
    const vm = await c.virtualMachines.get('rg-a', 'vm0', { expand: 'instanceView' });
    expect(vm.instanceView?.statuses?.map((s) => s.code)).toContain('PowerState/running');
    expect(vm.instanceView?.vmAgent?.statuses?.[0]?.displayStatus).toBe('Ready');
    await c.virtualMachines.beginDeallocateAndWait('rg-a', 'vm0', fast);
    const view = await c.virtualMachines.instanceView('rg-a', 'vm0');
    expect(view.statuses?.map((s) => s.code)).toContain('PowerState/deallocated');
    await c.virtualMachines.beginStartAndWait('rg-a', 'vm0', fast);
    expect(emu.state.vm(vm.id!)!.powerState).toBe('running');
  });

  it('creates, updates and deletes disks with LROs; refuses to delete an attached disk', async () => {
    const d = await c.disks.beginCreateOrUpdateAndWait('rg-a', 'extra', { location: 'westeurope', creationData: { createOption: 'Empty' }, diskSizeGB: 1 }, fast);
    expect(d.provisioningState).toBe('Succeeded');
    const grown = await c.disks.beginUpdateAndWait('rg-a', 'extra', { diskSizeGB: 2 }, fast);
    expect(grown.diskSizeGB).toBe(2);
    expect((await status(c.disks.beginUpdateAndWait('rg-a', 'extra', { diskSizeGB: 1 }, fast))).code).toBe('OperationNotAllowed');
    expect((await status(c.disks.beginDeleteAndWait('rg-a', 'vm1-d0', fast))).status).toBe(409);
    await c.disks.beginDeleteAndWait('rg-a', 'extra', fast);
    expect((await status(c.disks.get('rg-a', 'extra'))).status).toBe(404);
  });

  // An OS disk swap needs no stop (azure-compute-docs articles/virtual-machines/linux/os-disk-swap.md) and keeps
  // osDisk.createOption as the VM reports it (Azure/azure-sdk-for-net#37285): see vm-swap.test.ts for the refusals.
  it('swaps the OS disk of a running VM and re-attaches data disks by LUN (os-disk-swap.md)', async () => {
    const osCopy = await c.disks.beginCreateOrUpdateAndWait(
      'rg-a',
      'vm2-os-copy',
      {
        location: 'westeurope',
        creationData: { createOption: 'Copy', sourceResourceId: emu.state.vm(`/subscriptions/${SUB}/resourceGroups/rg-a/providers/Microsoft.Compute/virtualMachines/vm2`)!.osDiskId },
      },
      fast,
    );
    const data = await c.disks.beginCreateOrUpdateAndWait('rg-a', 'vm2-d5', { location: 'westeurope', creationData: { createOption: 'Empty' }, diskSizeGB: 1 }, fast);
    const vm = await c.virtualMachines.beginUpdateAndWait(
      'rg-a',
      'vm2',
      {
        storageProfile: { osDisk: { createOption: 'FromImage', managedDisk: { id: osCopy.id }, name: osCopy.name }, dataDisks: [{ lun: 5, createOption: 'Attach', managedDisk: { id: data.id } }] },
      },
      fast,
    );
    expect(vm.storageProfile?.osDisk?.managedDisk?.id?.toLowerCase()).toBe(osCopy.id!.toLowerCase());
    expect(vm.storageProfile?.osDisk?.createOption).toBe('FromImage');
    expect(vm.storageProfile?.dataDisks?.map((d) => d.lun)).toEqual([5]);
    expect((await c.disks.get('rg-a', 'vm2-d5')).diskState).toBe('Attached');
    expect((await c.disks.get('rg-a', 'vm2-d0')).diskState).toBe('Unattached');
  });

  it('answers ARM errors: missing api-version, missing bearer, unknown resource', async () => {
    const url = `${emu.armEndpoint}/subscriptions/${SUB}/resourceGroups/rg-a/providers/Microsoft.Compute/virtualMachines/vm0`;
    const { request } = await import('node:https');
    const call = (path: string, headers: Record<string, string>): Promise<{ status: number; body: string }> =>
      new Promise((resolve, reject) => {
        const req = request(path, { ca: emu.caCert, headers }, (res) => {
          let body = '';
          res.on('data', (d) => (body += d));
          res.on('end', () => resolve({ status: res.statusCode!, body }));
        });
        req.on('error', reject);
        req.end();
      });
    const noVersion = await call(url, { authorization: 'Bearer x' });
    expect(noVersion.status).toBe(400);
    expect(JSON.parse(noVersion.body).error.code).toBe('MissingApiVersionParameter');
    const noAuth = await call(`${url}?api-version=2024-07-01`, {});
    expect(noAuth.status).toBe(401);
    expect(JSON.parse(noAuth.body).error.code).toBe('AuthenticationFailed');
    expect((await status(c.virtualMachines.get('rg-a', 'nope'))).code).toBe('ResourceNotFound');
  });

  it('grants and revokes snapshot SAS; enforces the snapshot and SAS limits', async () => {
    const vm = emu.state.vm(`/subscriptions/${SUB}/resourceGroups/rg-b/providers/Microsoft.Compute/virtualMachines/vm3`)!;
    const diskId = vm.dataDisks[0]!.diskId;
    emu.store.write(diskId.toLowerCase(), 0, Buffer.alloc(MIB, 1));
    const snap = (n: number) =>
      c.snapshots.beginCreateOrUpdateAndWait('rg-b', `s${n}`, { location: 'westeurope', incremental: true, creationData: { createOption: 'Copy', sourceResourceId: diskId } }, fast);
    for (let n = 0; n < 7; n++) await snap(n);
    const burst = await status(snap(7));
    expect(burst.code).toBe('OperationNotAllowed'); // an 8th within five minutes
    emu.clock.advance(5 * 60_000 + 1);
    for (let n = 7; n < 12; n++) await snap(n);
    emu.clock.advance(5 * 60_000 + 1);
    expect((await status(snap(12))).code).toBe('OperationNotAllowed'); // the per-disk maximum (12 here, 500 by default)

    const sas: string[] = [];
    for (let n = 0; n < 5; n++) sas.push((await c.snapshots.beginGrantAccessAndWait('rg-b', `s${n}`, { access: 'Read', durationInSeconds: 600 }, fast)).accessSAS!);
    expect((await status(c.snapshots.beginGrantAccessAndWait('rg-b', 's5', { access: 'Read', durationInSeconds: 600 }, fast))).code).toBe('OperationNotAllowed');
    const blob = new PageBlobClient(sas[0]!);
    expect((await blob.downloadToBuffer(0, 512)).equals(Buffer.alloc(512, 1))).toBe(true);
    const tampered = new PageBlobClient(sas[1]!.replace(/sig=[^&]+/, 'sig=AAAA'));
    expect((await status(tampered.getProperties())).status).toBe(403);
    await c.snapshots.beginRevokeAccessAndWait('rg-b', 's0', fast);
    expect((await status(blob.getProperties())).status).toBe(403);
    emu.clock.advance(601_000);
    expect((await status(new PageBlobClient(sas[2]!).getProperties())).status).toBe(403); // expired
  });

  it('serves the data plane with Azure rules: windows, diffs with clears, Put Page limits', async () => {
    const vm = emu.state.vm(`/subscriptions/${SUB}/resourceGroups/rg-b/providers/Microsoft.Compute/virtualMachines/vm4`)!;
    const diskId = vm.dataDisks[0]!.diskId;
    const key = diskId.toLowerCase();
    emu.store.write(key, 4 * MIB - 512, Buffer.alloc(1024, 2));
    await c.snapshots.beginCreateOrUpdateAndWait('rg-b', 'a', { location: 'w', incremental: true, creationData: { createOption: 'Copy', sourceResourceId: diskId } }, fast);
    emu.store.clear(key, 4 * MIB - 512, 512);
    emu.store.write(key, 10 * MIB, Buffer.alloc(512, 3));
    await c.snapshots.beginCreateOrUpdateAndWait('rg-b', 'b', { location: 'w', incremental: true, creationData: { createOption: 'Copy', sourceResourceId: diskId } }, fast);
    const sa = (await c.snapshots.beginGrantAccessAndWait('rg-b', 'a', { access: 'Read', durationInSeconds: 600 }, fast)).accessSAS!;
    const sb = (await c.snapshots.beginGrantAccessAndWait('rg-b', 'b', { access: 'Read', durationInSeconds: 600 }, fast)).accessSAS!;
    const b = new PageBlobClient(sb);
    const diff = await b.getPageRangesDiffForManagedDisks(0, 64 * MIB, sa);
    // Inclusive ends, as Azure reports them; the SDK's count is end - start.
    expect(diff.pageRange).toEqual([{ offset: 10 * MIB, count: 511 }]);
    expect(diff.clearRange).toEqual([{ offset: 4 * MIB - 512, count: 511 }]);
    const win = await b.getPageRanges(4 * MIB, 4 * MIB);
    expect(win.pageRange).toEqual([{ offset: 4 * MIB, count: 511 }]);
    const props = await b.getProperties();
    expect(props.contentLength).toBe(64 * MIB);

    const up = await c.disks.beginCreateOrUpdateAndWait('rg-b', 'upload', { location: 'w', creationData: { createOption: 'Upload', uploadSizeBytes: 32 * MIB + 512 } }, fast);
    expect(up.diskState).toBe('ReadyToUpload');
    const w = new PageBlobClient((await c.disks.beginGrantAccessAndWait('rg-b', 'upload', { access: 'Write', durationInSeconds: 600 }, fast)).accessSAS!);
    expect((await status(w.uploadPages(Buffer.alloc(4 * MIB + 512), 0, 4 * MIB + 512))).status).toBe(413);
    expect((await status(w.uploadPages(Buffer.alloc(512), 100, 512))).status).toBe(416);
    expect((await status(w.uploadPages(Buffer.alloc(1024), 32 * MIB, 1024))).status).toBe(416);
    const bad = createHash('md5').update('other').digest();
    expect((await status(w.uploadPages(Buffer.alloc(512, 1), 0, 512, { transactionalContentMD5: bad }))).code).toBe('Md5Mismatch');
    expect((await status(new PageBlobClient(sa).uploadPages(Buffer.alloc(512), 0, 512))).status).toBe(403);
    await w.uploadPages(Buffer.alloc(4 * MIB, 5), 0, 4 * MIB, {
      transactionalContentMD5: createHash('md5')
        .update(Buffer.alloc(4 * MIB, 5))
        .digest(),
    });
    // Revoking without a VHD footer fails, as Azure's direct upload does.
    expect((await status(c.disks.beginRevokeAccessAndWait('rg-b', 'upload', fast))).code).toBe('InvalidVhd');
  });
});
