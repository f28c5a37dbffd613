import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ComputeManagementClient } from '@azure/arm-compute';
import { PageBlobClient, type RestError } from '@azure/storage-blob';
import type { ComputeEmulator } from '../../../src/emulator/server';
import { EmulatorState } from '../../../src/emulator/arm/state';
import { sha256 } from '../../../src/emulator/guest';
import { vhdFooter } from '../../../src/core/engine/vhd';
import { computeClientFor, SUB, withEmulator } from '../../support/emulator';

const MIB = 1024 ** 2;
const fast = { updateIntervalInMs: 5 };
const DES = `/subscriptions/${SUB}/resourceGroups/keys/providers/Microsoft.Compute/diskEncryptionSets/des1`;

async function failure(p: Promise<unknown>): Promise<{ status?: number; code?: string; message?: string }> {
  try {
    await p;
    return {};
  } catch (err) {
    const e = err as { statusCode?: number; code?: string; message?: string };
    return { status: e.statusCode, code: e.code, message: e.message };
  }
}

describe('VM model and disk swap as Compute answers them', () => {
  let emu: ComputeEmulator;
  let c: ComputeManagementClient;
  const newDisk = (name: string, o: Record<string, unknown> = {}) =>
    c.disks.beginCreateOrUpdateAndWait('rg', name, { location: 'westeurope', sku: { name: 'Premium_LRS' }, creationData: { createOption: 'Empty' }, diskSizeGB: 1, ...o }, fast);
  const swap = (vm: string, id: string, name: string, createOption = 'FromImage') =>
    c.virtualMachines.beginUpdateAndWait('rg', vm, { storageProfile: { osDisk: { createOption, managedDisk: { id }, name } } }, fast);
  beforeAll(async () => {
    emu = await withEmulator({ lroDelayMs: 0 });
    c = computeClientFor(emu);
    const GIB = 1024 ** 3;
    emu.createVm({
      subscriptionId: SUB,
      resourceGroup: 'rg',
      name: 'g2',
      hyperVGeneration: 'V2',
      securityType: 'TrustedLaunch',
      zones: ['2'],
      disks: [
        { name: 'g2-os', sizeBytes: GIB, lun: -1, diskEncryptionSetId: DES },
        { name: 'g2-d0', sizeBytes: GIB, lun: 0 },
      ],
    });
    emu.createVm({ subscriptionId: SUB, resourceGroup: 'rg', name: 'att', osCreateOption: 'Attach', disks: [{ name: 'att-os', sizeBytes: GIB, lun: -1 }] });
    emu.createVm({ subscriptionId: SUB, resourceGroup: 'rg', name: 'eph', ephemeralOs: true, disks: [{ name: 'eph-os', sizeBytes: 32 * MIB, lun: -1 }] });
    emu.createVm({
      subscriptionId: SUB,
      resourceGroup: 'rg',
      name: 'wa',
      writeAcceleratedOs: true,
      disks: [
        { name: 'wa-os', sizeBytes: 32 * MIB, lun: -1 },
        { name: 'wa-d0', sizeBytes: 32 * MIB, lun: 0 },
      ],
      unmanagedDataDisks: [{ lun: 3, name: 'legacy', vhdUri: 'https://acct.blob.core.windows.net/vhds/legacy.vhd' }],
    });
  });
  afterAll(async () => emu?.close());

  it('image-based VMs report osDisk.createOption FromImage (how-to-enable-write-accelerator.md example); attached-OS VMs report Attach', async () => {
    const vm = await c.virtualMachines.get('rg', 'g2', { expand: 'instanceView' });
    expect(vm.storageProfile?.osDisk?.createOption).toBe('FromImage');
    expect(vm.zones).toEqual(['2']);
    expect(vm.securityProfile?.securityType).toBe('TrustedLaunch');
    expect(vm.instanceView?.hyperVGeneration).toBe('V2');
    expect(vm.storageProfile?.osDisk?.managedDisk?.diskEncryptionSet?.id).toBe(DES);
    expect((await c.virtualMachines.get('rg', 'att')).storageProfile?.osDisk?.createOption).toBe('Attach');
  });

  it('changing osDisk.createOption answers 409 PropertyChangeNotAllowed (Azure/azure-sdk-for-net#37285)', async () => {
    const os = (await c.virtualMachines.get('rg', 'g2')).storageProfile!.osDisk!;
    const r = await failure(swap('g2', os.managedDisk!.id!, os.name!, 'Attach'));
    expect(r).toMatchObject({ status: 409, code: 'PropertyChangeNotAllowed', message: "Changing property 'osDisk.createOption' is not allowed." });
  });

  it('replacing managedDisk.id at an existing LUN in one update answers 409 PropertyChangeNotAllowed (Azure/azure-sdk-for-java#2925)', async () => {
    const other = await newDisk('g2-other', { zones: ['2'] });
    const r = await failure(c.virtualMachines.beginUpdateAndWait('rg', 'g2', { storageProfile: { dataDisks: [{ lun: 0, createOption: 'Attach', managedDisk: { id: other.id } }] } }, fast));
    expect(r).toMatchObject({ status: 409, code: 'PropertyChangeNotAllowed', message: "Changing property 'dataDisk.managedDisk.id' is not allowed." });
    // Detach first, then attach: two updates work.
    await c.virtualMachines.beginUpdateAndWait('rg', 'g2', { storageProfile: { dataDisks: [] } }, fast);
    const vm = await c.virtualMachines.beginUpdateAndWait('rg', 'g2', { storageProfile: { dataDisks: [{ lun: 0, createOption: 'Attach', managedDisk: { id: other.id } }] } }, fast);
    expect(vm.storageProfile?.dataDisks?.[0]?.managedDisk?.id?.toLowerCase()).toBe(other.id!.toLowerCase());
  });

  it('an OS disk swap on a running VM is allowed when generation, size, zone, DES and security type match (os-disk-swap.md)', async () => {
    const good = await newDisk('g2-good', { zones: ['2'], hyperVGeneration: 'V2', securityProfile: { securityType: 'TrustedLaunch' }, encryption: { diskEncryptionSetId: DES } });
    const vm = await swap('g2', good.id!, good.name!);
    expect(vm.storageProfile?.osDisk?.managedDisk?.id?.toLowerCase()).toBe(good.id!.toLowerCase());
    expect(emu.state.vm(vm.id!)!.powerState).toBe('running');
  });

  it('an OS disk swap is refused on a generation, zone, DES, security type or size mismatch', async () => {
    const base = { zones: ['2'], hyperVGeneration: 'V2', securityProfile: { securityType: 'TrustedLaunch' }, encryption: { diskEncryptionSetId: DES } };
    const v1 = await newDisk('s-v1', { ...base, hyperVGeneration: 'V1', securityProfile: undefined });
    // MicrosoftDocs/SupportArticles-docs#214
    expect(await failure(swap('g2', v1.id!, v1.name!))).toMatchObject({
      status: 409,
      code: 'PropertyChangeNotAllowed',
      message: expect.stringMatching(/^Swapping OS Disk is not supported since HyperVisor property on the OSDisk and VM do not match/),
    });
    const zone = await newDisk('s-zone', { ...base, zones: ['1'] });
    // jrudlin/Azure#7
    expect((await failure(swap('g2', zone.id!, zone.name!))).message).toMatch(/cannot be attached to the VM because it is not in zone '2'/);
    const des = await newDisk('s-des', { ...base, encryption: undefined });
    expect((await failure(swap('g2', des.id!, des.name!))).message).toMatch(/same disk encryption set/);
    const sec = await newDisk('s-sec', { ...base, securityProfile: undefined });
    expect((await failure(swap('g2', sec.id!, sec.name!))).message).toMatch(/security type/);
    const big = await newDisk('s-big', { ...base, diskSizeGB: 2 });
    expect((await failure(swap('g2', big.id!, big.name!))).message).toMatch(/not the same size/);
  });

  it('ephemeral OS disks: the disk GET answers 404, no snapshot, no swap (ephemeral-os-disks.md)', async () => {
    const vm = await c.virtualMachines.get('rg', 'eph');
    expect(vm.storageProfile?.osDisk?.diffDiskSettings?.option).toBe('Local');
    expect((await failure(c.disks.get('rg', 'eph-os'))).status).toBe(404);
    const s = await failure(
      c.snapshots.beginCreateOrUpdateAndWait(
        'rg',
        'eph-snap',
        { location: 'westeurope', incremental: true, creationData: { createOption: 'Copy', sourceResourceId: vm.storageProfile!.osDisk!.managedDisk!.id } },
        fast,
      ),
    );
    expect(s.status).toBe(404);
    const other = await newDisk('eph-other');
    expect((await failure(swap('eph', other.id!, other.name!))).status).toBe(409);
  });

  it('a Write Accelerator OS disk cannot be snapshotted, its data disks can (how-to-enable-write-accelerator.md); unmanaged disks are in the VM model', async () => {
    const vm = await c.virtualMachines.get('rg', 'wa');
    expect(vm.storageProfile?.osDisk?.writeAcceleratorEnabled).toBe(true);
    const snap = (name: string, id: string) =>
      c.snapshots.beginCreateOrUpdateAndWait('rg', name, { location: 'westeurope', incremental: true, creationData: { createOption: 'Copy', sourceResourceId: id } }, fast);
    expect(await failure(snap('wa-os-s', vm.storageProfile!.osDisk!.managedDisk!.id!))).toMatchObject({ status: 409, code: 'OperationNotAllowed' });
    const data = vm.storageProfile!.dataDisks!.find((d) => d.lun === 0)!;
    expect((await snap('wa-d0-s', data.managedDisk!.id!)).provisioningState).toBe('Succeeded');
    const legacy = vm.storageProfile!.dataDisks!.find((d) => d.lun === 3)!;
    expect(legacy.managedDisk).toBeUndefined();
    expect(legacy.vhd?.uri).toBe('https://acct.blob.core.windows.net/vhds/legacy.vhd');
  });

  it('Trusted Launch snapshots give the VM guest state through getSecureVMGuestStateSAS (diskRPCommon.json GrantAccessData)', async () => {
    const osId = (await c.virtualMachines.get('rg', 'g2')).storageProfile!.osDisk!.managedDisk!.id!;
    const s = await c.snapshots.beginCreateOrUpdateAndWait('rg', 'tl-snap', { location: 'westeurope', incremental: true, creationData: { createOption: 'Copy', sourceResourceId: osId } }, fast);
    expect(s.securityProfile?.securityType).toBe('TrustedLaunch');
    expect(s.hyperVGeneration).toBe('V2');
    const g = await c.snapshots.beginGrantAccessAndWait('rg', 'tl-snap', { access: 'Read', durationInSeconds: 600, getSecureVMGuestStateSAS: true }, fast);
    expect(g.accessSAS).toMatch(/^http/);
    expect(g.securityDataAccessSAS).toMatch(/^http/);
    expect(g.securityDataAccessSAS).not.toBe(g.accessSAS);
    await c.snapshots.beginRevokeAccessAndWait('rg', 'tl-snap', fast);
    expect(emu.state.grants.size).toBe(0);
  });

  it('UploadPreparedSecure needs a security type and returns a guest-state write SAS (Disk_Create_FromUploadPreparedSecure.json)', async () => {
    const plain = await failure(
      c.disks.beginCreateOrUpdateAndWait('rg', 'ups0', { location: 'westeurope', creationData: { createOption: 'UploadPreparedSecure', uploadSizeBytes: 32 * MIB + 512 } }, fast),
    );
    expect(plain.status).toBe(400);
    await c.disks.beginCreateOrUpdateAndWait(
      'rg',
      'ups1',
      { location: 'westeurope', hyperVGeneration: 'V2', securityProfile: { securityType: 'TrustedLaunch' }, creationData: { createOption: 'UploadPreparedSecure', uploadSizeBytes: 32 * MIB + 512 } },
      fast,
    );
    const g = await c.disks.beginGrantAccessAndWait('rg', 'ups1', { access: 'Write', durationInSeconds: 600, getSecureVMGuestStateSAS: true }, fast);
    expect(g.securityDataAccessSAS).toMatch(/^http/);
  });

  /**
   * The VM guest state end to end: Disks/Snapshots - Grant Access with getSecureVMGuestStateSAS answers
   * securityDataAccessSAS (https://learn.microsoft.com/rest/api/compute/disks/grant-access, examples "get sas on
   * managed disk and VM guest state"); without a security type Azure answers 400 BadRequest "GetSecureVMGuestStateSAS
   * can be set only for disk with SecurityProfile." (Azure/azure-powershell PR #24635).
   */
  const guestSha = (id: string): string => sha256(emu.store, EmulatorState.key(`${id}/guestState`));
  const status = async (p: Promise<unknown>): Promise<number | undefined> =>
    p.then(
      () => 200,
      (e: RestError) => e.statusCode,
    );

  it('refuses getSecureVMGuestStateSAS for a disk or snapshot without a security type (400 BadRequest)', async () => {
    const d = await newDisk('plain-gs');
    const disk = await failure(c.disks.beginGrantAccessAndWait('rg', 'plain-gs', { access: 'Read', durationInSeconds: 600, getSecureVMGuestStateSAS: true }, fast));
    expect(disk).toMatchObject({ status: 400, code: 'BadRequest', message: expect.stringContaining('GetSecureVMGuestStateSAS can be set only for disk with SecurityProfile') });
    await c.snapshots.beginCreateOrUpdateAndWait('rg', 'plain-gs-s', { location: 'westeurope', incremental: true, creationData: { createOption: 'Copy', sourceResourceId: d.id! } }, fast);
    expect(await failure(c.snapshots.beginGrantAccessAndWait('rg', 'plain-gs-s', { access: 'Read', durationInSeconds: 600, getSecureVMGuestStateSAS: true }, fast))).toMatchObject({
      status: 400,
      code: 'BadRequest',
    });
    await c.disks.beginCreateOrUpdateAndWait('rg', 'plain-up', { location: 'westeurope', creationData: { createOption: 'Upload', uploadSizeBytes: 32 * MIB + 512 } }, fast);
    expect(await failure(c.disks.beginGrantAccessAndWait('rg', 'plain-up', { access: 'Write', durationInSeconds: 600, getSecureVMGuestStateSAS: true }, fast))).toMatchObject({
      status: 400,
      code: 'BadRequest',
    });
  });

  it("a Trusted Launch disk's guest state is kept by its snapshot and read through securityDataAccessSAS; revoke ends the SAS", async () => {
    const osId = (await c.virtualMachines.get('rg', 'g2')).storageProfile!.osDisk!.managedDisk!.id!;
    const source = guestSha(osId);
    expect(source).not.toBe(sha256(emu.store, EmulatorState.key(osId))); // seeded, not the disk's bytes
    await c.snapshots.beginCreateOrUpdateAndWait('rg', 'tl-gs', { location: 'westeurope', incremental: true, creationData: { createOption: 'Copy', sourceResourceId: osId } }, fast);
    const g = await c.snapshots.beginGrantAccessAndWait('rg', 'tl-gs', { access: 'Read', durationInSeconds: 600, getSecureVMGuestStateSAS: true }, fast);
    const bytes = await new PageBlobClient(g.securityDataAccessSAS!).downloadToBuffer();
    expect(bytes.length).toBe(4 * MIB);
    expect(createHash('sha256').update(bytes).digest('hex')).toBe(source);
    await c.snapshots.beginRevokeAccessAndWait('rg', 'tl-gs', fast);
    expect(await status(new PageBlobClient(g.securityDataAccessSAS!).downloadToBuffer())).toBe(403);
  });

  it('UploadPreparedSecure takes the guest state through securityDataAccessSAS; revoke ends the upload with it', async () => {
    await c.disks.beginCreateOrUpdateAndWait(
      'rg',
      'ups2',
      { location: 'westeurope', hyperVGeneration: 'V2', securityProfile: { securityType: 'TrustedLaunch' }, creationData: { createOption: 'UploadPreparedSecure', uploadSizeBytes: 32 * MIB + 512 } },
      fast,
    );
    expect((await c.disks.get('rg', 'ups2')).diskState).toBe('ReadyToUpload');
    const g = await c.disks.beginGrantAccessAndWait('rg', 'ups2', { access: 'Write', durationInSeconds: 600, getSecureVMGuestStateSAS: true }, fast);
    expect((await c.disks.get('rg', 'ups2')).diskState).toBe('ActiveUpload');
    const state = Buffer.alloc(MIB, 7);
    await new PageBlobClient(g.securityDataAccessSAS!).uploadPages(state, 0, state.length);
    const footer = vhdFooter(32 * MIB);
    await new PageBlobClient(g.accessSAS!).uploadPages(footer, 32 * MIB, 512);
    await c.disks.beginRevokeAccessAndWait('rg', 'ups2', fast);
    const d = await c.disks.get('rg', 'ups2');
    expect(d.diskState).toBe('Unattached');
    const expected = Buffer.concat([state, Buffer.alloc(3 * MIB)]);
    expect(guestSha(d.id!)).toBe(createHash('sha256').update(expected).digest('hex'));
    expect(await status(new PageBlobClient(g.securityDataAccessSAS!).uploadPages(state, 0, state.length))).toBe(403);
  });
});
