import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPipelineRequest } from '@azure/core-rest-pipeline';
import type { ComputeManagementClient } from '@azure/arm-compute';
import { ArmProvisioningAdapter, NETWORK_API_VERSION } from '../../../src/core/adapters/azure/provisioning';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { ComputeEmulator } from '../../../src/emulator/server';
import { loadEmulatorState, saveEmulatorState } from '../../../src/emulator/persist';
import { computeClientFor, SUB, withEmulator } from '../../support/emulator';

/**
 * The emulator's Microsoft.Network subset and VM create with existing disks, each behaviour from Azure's
 * documentation or a quoted Azure answer (src/emulator/arm/network.ts, skus.ts): reached over HTTPS with the
 * real SDK client and the app's provisioning adapter (REST through the Compute client's pipeline).
 */
const RG = 'net';
const SUBNET = `/subscriptions/${SUB}/resourceGroups/${RG}/providers/Microsoft.Network/virtualNetworks/vnet1/subnets/default`;
const nicId = (name: string): string => `/subscriptions/${SUB}/resourceGroups/${RG}/providers/Microsoft.Network/networkInterfaces/${name}`;

describe('emulator: virtual networks, NICs and VM create on existing disks', () => {
  let emu: ComputeEmulator;
  let client: ComputeManagementClient;
  let net: ArmProvisioningAdapter;
  /** One raw ARM call through the SDK client's pipeline: status, ARM error code and body. */
  const raw = async (method: 'GET' | 'PUT' | 'DELETE', path: string, body?: unknown) => {
    const req = createPipelineRequest({ url: `${emu.armEndpoint}${path}?api-version=${NETWORK_API_VERSION}`, method, ...(body ? { body: JSON.stringify(body) } : {}) });
    req.headers.set('content-type', 'application/json');
    const res = await client.sendRequest(req);
    const json = res.bodyAsText ? JSON.parse(res.bodyAsText) : undefined;
    return { status: res.status, code: json?.error?.code as string | undefined, message: json?.error?.message as string | undefined, json };
  };

  beforeAll(async () => {
    emu = await withEmulator();
    client = computeClientFor(emu);
    net = new ArmProvisioningAdapter({ credential: emu.credential, endpoint: emu.armEndpoint, clientOptions: { tlsOptions: { ca: emu.caCert } } });
    const put = await raw('PUT', `/subscriptions/${SUB}/resourceGroups/${RG}/providers/Microsoft.Network/virtualNetworks/vnet1`, {
      location: 'westeurope',
      properties: { addressSpace: { addressPrefixes: ['10.1.0.0/16'] }, subnets: [{ name: 'default', properties: { addressPrefix: '10.1.0.0/24' } }] },
    });
    expect(put.status).toBe(201);
  });
  afterAll(async () => emu?.close());

  it("a subnet is found with its vnet's region; a missing one is 404 (NotFound for the subnet, ResourceNotFound for the vnet)", async () => {
    expect(await net.getSubnet(SUBNET)).toEqual({ id: SUBNET, location: 'westeurope' });
    expect(await net.getSubnet(SUBNET.replace('default', 'other'))).toBeUndefined();
    expect(await raw('GET', SUBNET.replace('default', 'other').slice(0))).toMatchObject({ status: 404, code: 'NotFound' });
    expect(await raw('GET', SUBNET.replace('vnet1', 'nope'))).toMatchObject({ status: 404, code: 'ResourceNotFound' });
  });

  it("a NIC naming a missing subnet, or one in another region, is 400 InvalidResourceReference with Azure's message", async () => {
    const ipc = (subnet: string) => ({ properties: { ipConfigurations: [{ name: 'ipconfig1', properties: { subnet: { id: subnet } } }] } });
    const missing = await raw('PUT', nicId('bad1'), { location: 'westeurope', ...ipc(SUBNET.replace('default', 'other')) });
    expect(missing).toMatchObject({ status: 400, code: 'InvalidResourceReference' });
    expect(missing.message).toMatch(
      /referenced by resource .*networkInterfaces\/bad1 was not found\. Please make sure that the referenced resource exists, and that both resources are in the same region\./,
    );
    expect(await raw('PUT', nicId('bad2'), { location: 'northeurope', ...ipc(SUBNET) })).toMatchObject({ status: 400, code: 'InvalidResourceReference' });
    expect(await raw('PUT', nicId('bad3'), ipc(SUBNET))).toMatchObject({ status: 400, code: 'LocationRequired' });
    expect(await raw('GET', nicId('bad1'))).toMatchObject({ status: 404, code: 'ResourceNotFound' });
  });

  it('a VM is created on existing disks only with an existing NIC of its region, a size and zone the region offers; the NIC is then attached and cannot be deleted (NicInUse)', async () => {
    const seed = emu.createVm({ subscriptionId: SUB, resourceGroup: RG, name: 'src', zones: ['1'], disks: [{ name: 'src-os', sizeBytes: 32 * 1024 ** 2, lun: -1 }] });
    await client.virtualMachines.beginDeleteAndWait(RG, 'src'); // frees its OS disk: the new VM attaches it
    const os = seed.osDiskId;
    const nic = await net.createNic({ subscriptionId: SUB, resourceGroup: RG, name: 'nic1', location: 'westeurope', subnetId: SUBNET, tags: { t: '1' } });
    expect(nic).toMatchObject({ id: nicId('nic1'), subnetId: SUBNET, location: 'westeurope', tags: { t: '1' } });
    expect((await raw('GET', nicId('nic1'))).json.properties.ipConfigurations[0].properties.privateIPAddress).toBe('10.1.0.4');
    const body = (extra: Record<string, unknown>) => ({
      location: 'westeurope',
      zones: ['1'],
      properties: { hardwareProfile: { vmSize: 'Standard_D2s_v5' }, storageProfile: { osDisk: { osType: 'Linux', createOption: 'Attach', managedDisk: { id: os } } }, ...extra },
    });
    const vmPath = (n: string) => `/subscriptions/${SUB}/resourceGroups/${RG}/providers/Microsoft.Compute/virtualMachines/${n}`;
    const put = (n: string, b: unknown) => raw('PUT', vmPath(n), b);
    expect(await put('v0', body({}))).toMatchObject({ status: 400, code: 'InvalidParameter' });
    expect(await put('v0', body({ networkProfile: { networkInterfaces: [{ id: nicId('ghost') }] } }))).toMatchObject({ status: 400, code: 'NotFound' });
    emu.skus.restrict('westeurope', 'Standard_D2s_v5', ['1']);
    const sku = await put('v0', body({ networkProfile: { networkInterfaces: [{ id: nic.id }] } }));
    expect(sku).toMatchObject({ status: 409, code: 'SkuNotAvailable' });
    expect(sku.message).toMatch(/not available in location 'westeurope' zones '1'/);
    emu.skus.restrictions.clear();
    expect((await net.getNic(nic.id))!.virtualMachineId).toBeUndefined(); // the refused creates attached nothing

    const made = await net.createVm({
      subscriptionId: SUB,
      resourceGroup: RG,
      name: 'v1',
      location: 'westeurope',
      vmSize: 'Standard_D2s_v5',
      zone: '1',
      osType: 'Linux',
      os: { diskId: os },
      dataDisks: [],
      nicId: nic.id,
      tags: {},
    });
    const vm = await client.virtualMachines.get(RG, 'v1', { expand: 'instanceView' });
    expect(vm.networkProfile?.networkInterfaces?.map((n) => n.id)).toEqual([nic.id]);
    expect(vm.instanceView?.statuses?.map((x) => x.code)).toContain('PowerState/running');
    expect((await net.getNic(nic.id))!.virtualMachineId).toBe(made.id);
    expect(await put('v2', body({ networkProfile: { networkInterfaces: [{ id: nic.id }] } }))).toMatchObject({ status: 400, code: 'NicInUse' });
    const inUse = await net.deleteNic(nic.id).catch((e: unknown) => e as { statusCode: number; code: string; message: string });
    expect(inUse).toMatchObject({
      statusCode: 400,
      code: 'NicInUse',
      message: expect.stringMatching(/is used by existing resource .*virtualMachines\/v1\. In order to delete the network interface, it must be dissociated from the resource\./),
    });
    await net.deleteVm(made.id);
    await net.deleteNic(nic.id);
    expect(await net.getNic(nic.id)).toBeUndefined();
    await net.deleteNic(nic.id); // absent is done
  });

  it('resource SKUs list VM sizes per region with their zones and data-disk limit; a region without zones lists none', async () => {
    // MaxDataDiskCount: 4 for a D2s_v5 (dv5-dsv5-series.md), read by the adapter from the SKU's capabilities.
    expect(await net.vmSizeOffer(SUB, 'westeurope', 'Standard_D2s_v5')).toEqual({ zones: ['1', '2', '3'], maxDataDisks: 4 });
    expect(await net.vmSizeOffer(SUB, 'westus', 'Standard_D2s_v5')).toEqual({ zones: [], maxDataDisks: 4 });
    expect(await net.vmSizeOffer(SUB, 'westeurope', 'Standard_B1s')).toMatchObject({ maxDataDisks: 2 });
    expect(await net.vmSizeOffer(SUB, 'westeurope', 'Standard_Nope')).toBeUndefined();
    emu.skus.restrict('westeurope', 'Standard_E4s_v5');
    expect(await net.vmSizeOffer(SUB, 'westeurope', 'Standard_E4s_v5')).toMatchObject({ restricted: 'NotAvailableForSubscription' });
    emu.skus.restrictions.clear();
  });

  it('a saved stack keeps its virtual networks and NICs (npm start restarts with the demo subnet)', async () => {
    await net.createNic({ subscriptionId: SUB, resourceGroup: RG, name: 'kept', location: 'westeurope', subnetId: SUBNET, tags: {} });
    const dir = mkdtempSync(path.join(tmpdir(), 'vmb-net-'));
    try {
      saveEmulatorState(dir, emu.state, emu.store);
      const back = loadEmulatorState(dir)!;
      expect([...back.state.vnets.values()].map((v) => v.id)).toEqual([...emu.state.vnets.values()].map((v) => v.id));
      expect(back.state.nics.get(nicId('kept').toLowerCase())).toMatchObject({ subnetId: SUBNET, location: 'westeurope' });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
