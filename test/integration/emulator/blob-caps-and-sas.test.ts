import { afterEach, describe, expect, it } from 'vitest';
import { PageBlobClient, newPipeline, AnonymousCredential } from '@azure/storage-blob';
import { withEmulator, computeClientFor, SUB } from '../../support/emulator';
import type { ComputeEmulator, ComputeEmulatorOptions } from '../../../src/emulator/server';
import { uploadTargets } from '../../../src/emulator/data/throttle';

const MIB = 1024 * 1024;
let emu: ComputeEmulator | undefined;
afterEach(async () => {
  await emu?.close();
  emu = undefined;
});

/** The product's clients: the SDK's own retries off, so a 503 or 500 reaches the caller. */
const client = (url: string): PageBlobClient => new PageBlobClient(url, newPipeline(new AnonymousCredential(), { retryOptions: { maxTries: 1 } }));
const outcome = (p: Promise<unknown>): Promise<string> =>
  p.then(
    () => 'ok',
    (e: { statusCode?: number; code?: string }) => `${e.statusCode} ${e.code}`,
  );

async function snapshotFamily(options: ComputeEmulatorOptions, snapshots = 1) {
  emu = await withEmulator({ lroDelayMs: 0, ...options });
  emu.createVm({ subscriptionId: SUB, resourceGroup: 'rg', name: 'vm', disks: [{ name: 'os', sizeBytes: 32 * MIB, lun: -1 }] });
  const c = computeClientFor(emu);
  const diskId = (await c.virtualMachines.get('rg', 'vm')).storageProfile!.osDisk!.managedDisk!.id!;
  emu.store.write(diskId.toLowerCase(), 0, Buffer.alloc(2 * MIB, 5));
  for (let i = 1; i <= snapshots; i++)
    await c.snapshots.beginCreateOrUpdateAndWait('rg', `s${i}`, { location: 'westeurope', incremental: true, creationData: { createOption: 'Copy', sourceResourceId: diskId } });
  const grant = async (name: string): Promise<string> => (await c.snapshots.beginGrantAccessAndWait('rg', name, { access: 'Read', durationInSeconds: 600 })).accessSAS!;
  return { c, diskId, grant };
}

// Source: includes/storage-blob-scale-targets.md (MicrosoftDocs/azure-docs) and
// https://learn.microsoft.com/azure/storage/blobs/scalability-targets: 500 requests/s and 60 MiB/s per page blob,
// "503 (Server Busy) or 500 (Operation Timeout)" past them; messages from
// https://learn.microsoft.com/rest/api/storageservices/common-rest-api-error-codes. Compressed time scales both.
describe('per-blob caps on the managed-disk data plane (storage-blob-scale-targets.md)', () => {
  it('answers 503 ServerBusy once a snapshot family exceeds 500 requests/s (scaled), and nothing under it', async () => {
    const f = await snapshotFamily({ dataPlane: { timeScale: 100 } }); // 5 requests/s, a burst of 5
    const blob = client(await f.grant('s1'));
    const under = [];
    for (let i = 0; i < 4; i++) under.push(await outcome(blob.downloadToBuffer(0, 512)));
    expect(under).toEqual(['ok', 'ok', 'ok', 'ok']);
    // GETs, not HEADs: a HEAD answer has no body, so the SDK cannot read its error code (on Azure too).
    const burst = await Promise.all(
      Array.from({ length: 12 }, () =>
        blob.downloadToBuffer(0, 512).then(
          () => 'ok',
          (e) => e,
        ),
      ),
    );
    const busy = burst.filter((r) => r !== 'ok');
    expect(busy.length).toBeGreaterThan(0);
    expect(busy[0]).toMatchObject({ statusCode: 503, code: 'ServerBusy' });
    expect(String(busy[0].message)).toContain('The server is currently unable to receive requests. Please retry your request.');
    expect(emu!.dataStats.serverBusy).toBe(busy.length);
  });

  it('answers 500 OperationTimedOut to a read that cannot finish in its server timeout at 60 MiB/s (scaled)', async () => {
    // f = 1000: 60 KiB/s and 0.5 requests/s locally; a 1 MiB read would need ~16 s while its timeout (2 min/MiB,
    // at least 30 s) is 0.12 s. The same read at f = 1 passes (next test).
    const f = await snapshotFamily({ dataPlane: { timeScale: 1000 } });
    const blob = client(await f.grant('s1'));
    const err = await blob.downloadToBuffer(0, MIB).catch((e) => e);
    expect(err).toMatchObject({ statusCode: 500, code: 'OperationTimedOut' });
    expect(String(err.message)).toContain('The operation could not be completed within the permitted time.');
    expect(emu!.dataStats.operationTimedOut).toBe(1);
  });

  it('lets the same reads through at Azure speed (f = 1): under the caps nothing is refused', async () => {
    const f = await snapshotFamily({});
    const blob = client(await f.grant('s1'));
    const reads = await Promise.all(Array.from({ length: 8 }, (_, i) => outcome(blob.downloadToBuffer(i * 256 * 1024, 256 * 1024))));
    expect(reads.every((r) => r === 'ok')).toBe(true);
    expect(emu!.dataStats.serverBusy + emu!.dataStats.operationTimedOut).toBe(0);
  });

  // Source: azure-compute-docs articles/virtual-machines/linux/disks-upload-vhd-to-managed-disk-cli.md ("your
  // bandwidth would be the same as standard HDDs") and includes/disk-storage-standard-hdd-sizes.md (S4..S50 60 MB/s
  // and 500 IOPS, S60 300/1,300, S70 and S80 500/2,000).
  it('caps direct upload at the Standard HDD tier of the disk size, and times out a Put Page beyond it', async () => {
    expect(uploadTargets(32 * 1024 ** 3)).toEqual({ bytesPerSecond: 60 * MIB, requestsPerSecond: 500 });
    expect(uploadTargets(4096 * 1024 ** 3)).toEqual({ bytesPerSecond: 60 * MIB, requestsPerSecond: 500 });
    expect(uploadTargets(8192 * 1024 ** 3)).toEqual({ bytesPerSecond: 300 * MIB, requestsPerSecond: 1300 });
    expect(uploadTargets(16384 * 1024 ** 3)).toEqual({ bytesPerSecond: 500 * MIB, requestsPerSecond: 2000 });
    emu = await withEmulator({ lroDelayMs: 0, dataPlane: { timeScale: 1000 } });
    const c = computeClientFor(emu);
    const upload = async (name: string): Promise<PageBlobClient> => {
      await c.disks.beginCreateOrUpdateAndWait('rg', name, { location: 'westeurope', creationData: { createOption: 'Upload', uploadSizeBytes: 20 * MIB + 512 } });
      const sas = (await c.disks.beginGrantAccessAndWait('rg', name, { access: 'Write', durationInSeconds: 600 })).accessSAS!;
      expect(new URL(sas).searchParams.get('sr')).toBe('b'); // a disk SAS keeps its own shape
      return client(sas);
    };
    // One request per disk: at f = 1000 a disk takes 0.5 requests/s. 512 bytes fit its burst (60 KiB)...
    expect(await outcome((await upload('up1')).uploadPages(Buffer.alloc(512, 1), 0, 512))).toBe('ok');
    // ...1 MiB at 60 KiB/s is ~16 s, and the write timeout (10 min/MiB) scaled is 0.6 s.
    expect(await outcome((await upload('up2')).uploadPages(Buffer.alloc(MIB, 1), MIB, MIB))).toBe('500 OperationTimedOut');
  });
});

// Source: AZURE-FIDELITY M3 — incremental-snapshot SAS URLs look like
// `.../<container>/abcd?snapshot=<ts>&sv=2018-11-09&sr=bs&si=<policy>&sig=…` (Azure/azure-powershell#15375);
// "You can currently only generate SAS URIs of up to five snapshots of a particular snapshot family at any given
// time" (includes/virtual-machines-disks-incremental-snapshots-restrictions.md); 5 stored access policies per
// container (includes/storage-blob-scale-targets.md).
describe('snapshot SAS in Azure shape', () => {
  it('puts a family in one container and blob name, told apart by snapshot=, with sr=bs and si naming a policy', async () => {
    const f = await snapshotFamily({}, 2);
    const [a, b] = [new URL(await f.grant('s1')), new URL(await f.grant('s2'))];
    for (const u of [a, b]) {
      expect(u.pathname).toMatch(/^\/md-[0-9a-f]+\/abcd$/);
      expect([...u.searchParams.keys()]).toEqual(['snapshot', 'sv', 'sr', 'si', 'sig']);
      expect(u.searchParams.get('sr')).toBe('bs');
      expect(u.searchParams.get('snapshot')).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{7}Z$/);
    }
    expect(a.pathname).toBe(b.pathname);
    expect(a.searchParams.get('snapshot')).not.toBe(b.searchParams.get('snapshot'));
    expect(a.searchParams.get('si')).not.toBe(b.searchParams.get('si'));
    // The product builds PageBlobClient from the URL: the SDK keeps snapshot= and each URL reads its own snapshot.
    const blob = client(a.toString());
    expect(blob.url).toContain('snapshot=');
    expect((await blob.downloadToBuffer(0, 512))[0]).toBe(5);
    expect((await blob.getPageRanges(0, 32 * MIB)).pageRange?.length).toBe(1);
    // A re-grant renews the same policy; the signature binds the snapshot, so another snapshot= is refused.
    expect(new URL(await f.grant('s1')).searchParams.get('si')).toBe(a.searchParams.get('si'));
    const forged = new URL(a.toString());
    forged.searchParams.set('snapshot', b.searchParams.get('snapshot')!);
    expect(await outcome(client(forged.toString()).getProperties())).toBe('403 undefined');
  });

  it('allows SAS on at most 5 snapshots of one family, and a sixth once one is revoked', async () => {
    const f = await snapshotFamily({}, 6);
    const urls = [];
    for (let i = 1; i <= 5; i++) urls.push(await f.grant(`s${i}`));
    expect(new Set(urls.map((u) => new URL(u).pathname)).size).toBe(1);
    await expect(f.grant('s6')).rejects.toMatchObject({ statusCode: 409 });
    await f.c.snapshots.beginRevokeAccessAndWait('rg', 's1');
    expect(await outcome(client(urls[0]!).getProperties())).toBe('403 undefined');
    expect(new URL(await f.grant('s6')).searchParams.get('sr')).toBe('bs');
  });
});
