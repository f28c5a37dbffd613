import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ComputeManagementClient } from '@azure/arm-compute';
import type { TokenCredential } from '@azure/core-auth';
import type { ComputeEmulator } from '../../../src/emulator/server';
import { computeClientFor, SUB, withEmulator } from '../../support/emulator';

const MIB = 1024 ** 2;
const fast = { updateIntervalInMs: 5 };

async function failure(p: Promise<unknown>): Promise<{ status?: number; code?: string; message?: string; headers?: Map<string, string> }> {
  try {
    await p;
    return {};
  } catch (err) {
    const e = err as { statusCode?: number; code?: string; message?: string; response?: { headers: { get(n: string): string | undefined } } };
    const h = new Map<string, string>();
    for (const n of ['retry-after', 'retry-after-ms', 'x-ms-ratelimit-remaining-subscription-reads']) {
      const v = e.response?.headers.get(n);
      if (v !== undefined) h.set(n, v);
    }
    return { status: e.statusCode, code: e.code, message: e.message, headers: h };
  }
}

describe('ARM as Compute answers: ids, defaults, upload bounds, disk access settings', () => {
  let emu: ComputeEmulator;
  let c: ComputeManagementClient;
  beforeAll(async () => {
    emu = await withEmulator({ lroDelayMs: 0 });
    c = computeClientFor(emu);
    emu.createVm({ subscriptionId: SUB, resourceGroup: 'Mixed-Case-rg', name: 'vm1', disks: [{ name: 'vm1-os', sizeBytes: 32 * MIB, lun: -1 }] });
  });
  afterAll(async () => emu?.close());

  it('returned ids carry the resource group upper-cased; lookups stay case-insensitive (Azure/azure-rest-api-specs#8068)', async () => {
    const vm = await c.virtualMachines.get('mixed-case-RG', 'vm1');
    expect(vm.id).toBe(`/subscriptions/${SUB}/resourceGroups/MIXED-CASE-RG/providers/Microsoft.Compute/virtualMachines/vm1`);
    expect(vm.storageProfile?.osDisk?.managedDisk?.id).toContain('/resourceGroups/MIXED-CASE-RG/');
    const s = await c.snapshots.beginCreateOrUpdateAndWait(
      'Mixed-Case-rg',
      'snap1',
      { location: 'westeurope', incremental: true, creationData: { createOption: 'Copy', sourceResourceId: vm.storageProfile!.osDisk!.managedDisk!.id!.replace('MIXED-CASE-RG', 'mixed-case-rg') } },
      fast,
    );
    expect(s.id).toContain('/resourceGroups/MIXED-CASE-RG/');
    const listed: string[] = [];
    for await (const x of c.snapshots.listByResourceGroup('mixed-case-rg')) listed.push(x.id!);
    expect(listed).toEqual([s.id]);
  });

  it('a disk created without sku gets Standard_LRS (DiskRP Disk_Create_UploadDisk.json sends none; AZURE-FIDELITY M6)', async () => {
    const d = await c.disks.beginCreateOrUpdateAndWait('rg', 'nosku', { location: 'westeurope', creationData: { createOption: 'Empty' }, diskSizeGB: 1 }, fast);
    expect(d.sku?.name).toBe('Standard_LRS');
  });

  it('Upload disks take uploadSizeBytes from 20 MiB + 512 B to 32 TiB + 512 B (diskRPCommon.json CreationData)', async () => {
    const up = (name: string, bytes: number) => c.disks.beginCreateOrUpdateAndWait('rg', name, { location: 'westeurope', creationData: { createOption: 'Upload', uploadSizeBytes: bytes } }, fast);
    expect((await failure(up('u-small', 20 * MIB))).status).toBe(400);
    expect((await up('u-min', 20 * MIB + 512)).diskState).toBe('ReadyToUpload');
    expect((await failure(up('u-big', 32 * 1024 ** 4 + MIB + 512))).status).toBe(400);
  });

  it('dataAccessAuthMode AzureActiveDirectory is kept and its SAS is marked as needing a disk-audience token (disks-secure-upload-download.md)', async () => {
    const d = await c.disks.beginCreateOrUpdateAndWait(
      'rg',
      'aad',
      { location: 'westeurope', sku: { name: 'Premium_LRS' }, dataAccessAuthMode: 'AzureActiveDirectory', creationData: { createOption: 'Empty' }, diskSizeGB: 1 },
      fast,
    );
    expect(d.dataAccessAuthMode).toBe('AzureActiveDirectory');
    await c.snapshots.beginCreateOrUpdateAndWait('rg', 'aad-s', { location: 'westeurope', incremental: true, creationData: { createOption: 'Copy', sourceResourceId: d.id } }, fast);
    const sas = (await c.snapshots.beginGrantAccessAndWait('rg', 'aad-s', { access: 'Read', durationInSeconds: 600 }, fast)).accessSAS!;
    const grant = [...emu.state.grants.values()].find((g) => g.resourceId.endsWith('/aad-s'))!;
    expect(grant.requires?.bearerAudience).toBe('https://disk.compute.azure.com');
    // The SAS alone is refused; with a bearer token for the disk audience the same read works.
    const anonymous = await fetch(sas, { headers: { 'x-ms-range': 'bytes=0-511', 'x-ms-version': '2021-12-02' } });
    expect(anonymous.status).toBe(403);
    expect(anonymous.headers.get('x-ms-error-code')).toBe('AuthorizationFailure');
    const withToken = await fetch(sas, { headers: { 'x-ms-range': 'bytes=0-511', 'x-ms-version': '2021-12-02', authorization: 'Bearer local-disk-audience-token' } });
    expect(withToken.status).toBe(206);
  });

  it('networkAccessPolicy DenyAll refuses export; AllowPrivate needs a disk access (disk.json NetworkAccessPolicy)', async () => {
    await c.disks.beginCreateOrUpdateAndWait('rg', 'deny', { location: 'westeurope', networkAccessPolicy: 'DenyAll', creationData: { createOption: 'Empty' }, diskSizeGB: 1 }, fast);
    expect((await failure(c.disks.beginGrantAccessAndWait('rg', 'deny', { access: 'Read', durationInSeconds: 600 }, fast))).status).toBe(409);
    expect(
      (await failure(c.disks.beginCreateOrUpdateAndWait('rg', 'priv', { location: 'westeurope', networkAccessPolicy: 'AllowPrivate', creationData: { createOption: 'Empty' }, diskSizeGB: 1 }, fast)))
        .status,
    ).toBe(400);
  });

  it('a shared disk (maxShares 2) attaches to two VMs and lists both in managedByExtended (virtual-machines-disks-shared-limitations.md)', async () => {
    emu.createVm({
      subscriptionId: SUB,
      resourceGroup: 'rg',
      name: 'n1',
      disks: [
        { name: 'n1-os', sizeBytes: 32 * MIB, lun: -1 },
        { name: 'shared', sizeBytes: 32 * MIB, lun: 0, maxShares: 2 },
      ],
    });
    emu.createVm({ subscriptionId: SUB, resourceGroup: 'rg', name: 'n2', disks: [{ name: 'n2-os', sizeBytes: 32 * MIB, lun: -1 }] });
    const shared = await c.disks.get('rg', 'shared');
    await c.virtualMachines.beginUpdateAndWait('rg', 'n2', { storageProfile: { dataDisks: [{ lun: 0, createOption: 'Attach', managedDisk: { id: shared.id } }] } }, fast);
    expect((await c.disks.get('rg', 'shared')).managedByExtended?.length).toBe(2);
  });
});

describe('ARM token buckets (request-limits-and-throttling.md): per subscription and principal, 429 with Retry-After', () => {
  let emu: ComputeEmulator;
  let c: ComputeManagementClient;
  const other: TokenCredential = { getToken: async () => ({ token: 'another-principal', expiresOnTimestamp: Date.now() + 3_600_000 }) };
  beforeAll(async () => {
    // Small buckets and unscaled time so a handful of requests empties one; the clock refills it.
    emu = await withEmulator({
      lroDelayMs: 0,
      fidelity: { timeScale: 1, throttle: { reads: { bucket: 3, refillPerSecond: 1 }, writes: { bucket: 2, refillPerSecond: 1 }, deletes: { bucket: 2, refillPerSecond: 1 }, globalMultiplier: 15 } },
    });
    c = new ComputeManagementClient(emu.credential, SUB, { endpoint: emu.armEndpoint, tlsOptions: { ca: emu.caCert }, retryOptions: { maxRetries: 0 } });
    emu.createVm({ subscriptionId: SUB, resourceGroup: 'rg', name: 't1', disks: [{ name: 't1-os', sizeBytes: 32 * MIB, lun: -1 }] });
  });
  afterAll(async () => emu?.close());

  it('reports x-ms-ratelimit-remaining-subscription-reads on every answer and 429s when the bucket is empty', async () => {
    const seen: string[] = [];
    for (let i = 0; i < 3; i++) await c.virtualMachines.get('rg', 't1', { onResponse: (r) => seen.push(r.headers.get('x-ms-ratelimit-remaining-subscription-reads') ?? 'none') });
    expect(seen).toEqual(['2', '1', '0']);
    const r = await failure(c.virtualMachines.get('rg', 't1'));
    expect(r.status).toBe(429);
    expect(r.code).toBe('SubscriptionRequestsThrottled');
    expect(Number(r.headers?.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(r.headers?.get('x-ms-ratelimit-remaining-subscription-reads')).toBe('0');
    expect(emu.armStats.throttled).toBe(1);
    // Another principal has its own bucket.
    const c2 = new ComputeManagementClient(other, SUB, { endpoint: emu.armEndpoint, tlsOptions: { ca: emu.caCert }, retryOptions: { maxRetries: 0 } });
    expect((await c2.virtualMachines.get('rg', 't1')).name).toBe('t1');
    // Refill at 1 per second.
    emu.clock.advance(1000);
    expect((await c.virtualMachines.get('rg', 't1')).name).toBe('t1');
  });

  it("writes have their own bucket and header, plus Compute's x-ms-ratelimit-remaining-resource (troubleshooting-throttling-errors.md)", async () => {
    const h: (string | undefined)[] = [];
    await c.virtualMachines.beginDeallocateAndWait('rg', 't1', {
      ...fast,
      onResponse: (r) => h.push(r.headers.get('x-ms-ratelimit-remaining-subscription-writes'), r.headers.get('x-ms-ratelimit-remaining-resource')),
    });
    expect(h[0]).toBe('1');
    expect(h[1]).toMatch(/^Microsoft\.Compute\/\w+;\d+$/);
  });

  it('the default profile scales the refill by timeScale and uses the documented bucket sizes', async () => {
    const d = await withEmulator({ lroDelayMs: 0 });
    try {
      expect(d.fidelity.throttle).toMatchObject({ reads: { bucket: 250, refillPerSecond: 25 }, writes: { bucket: 200, refillPerSecond: 10 } });
      expect(d.fidelity.timeScale).toBe(1000);
    } finally {
      await d.close();
    }
  });
});
