import { describe, expect, inject, it } from 'vitest';
import { BlobServiceClient, type PageBlobClient } from '@azure/storage-blob';
import { attachPolicy } from '../../src/core/adapters/azure/attach-policy';
import { azuriteAsAzureShim, type AzureShimPolicy } from '../../src/local/azurite-shim';
import { strictAzureLimitsPolicy } from '../../src/local/strict-limits';
import { strictProfile, type AzureProfile } from '../../src/local/azure-profile';
import { uniqueName } from '../support/names';

// The backup account is Azurite locally, which never pages Get Page Ranges and has no throughput targets. The shim
// answers as Azure does. Sources: https://learn.microsoft.com/rest/api/storageservices/get-page-ranges (marker,
// maxresults, NextMarker); includes/storage-blob-scale-targets.md (60 MiB/s, 500 requests/s per page blob; 503
// ServerBusy / 500 OperationTimedOut); https://learn.microsoft.com/rest/api/storageservices/common-rest-api-error-codes.

const MIB = 1024 * 1024;

/** A backup-account client as the app builds one (strict policy and shim attached), the SDK's retries off. */
async function shard(profile: Partial<AzureProfile>, fragments: number): Promise<{ blob: PageBlobClient; shim: AzureShimPolicy; expected: { start: number; end: number }[] }> {
  const svc = BlobServiceClient.fromConnectionString(inject('azurite').connectionString, { retryOptions: { maxTries: 1 } });
  const shim = azuriteAsAzureShim(strictProfile(profile));
  attachPolicy(svc, strictAzureLimitsPolicy());
  attachPolicy(svc, shim);
  const container = svc.getContainerClient(uniqueName('shim'));
  await container.create();
  const blob = container.getPageBlobClient('shard');
  await blob.create(4 * MIB);
  const expected = [];
  for (let i = 0; i < fragments; i++) {
    await blob.uploadPages(Buffer.alloc(512, 1), i * 2048, 512);
    expected.push({ start: i * 2048, end: i * 2048 + 511 });
  }
  return { blob, shim, expected };
}

async function pages(blob: PageBlobClient, maxPageSize?: number): Promise<{ start: number; end: number }[][]> {
  const out = [];
  for await (const p of blob.listPageRanges(0, 4 * MIB).byPage({ maxPageSize })) out.push(p.pageRange ?? []);
  return out;
}

describe('Azurite behind the Azure shim: Get Page Ranges paging (get-page-ranges: marker, NextMarker)', () => {
  it("cuts Azurite's full answer at N with a NextMarker and serves the rest from marker exactly once", async () => {
    const { blob, shim, expected } = await shard({ pageRangesPerAnswer: 8, blobCaps: false }, 20);
    const first = await blob.getPageRanges(0, 4 * MIB);
    expect(first.pageRange).toHaveLength(8);
    expect(first.continuationToken).toBeTruthy();
    const all = await pages(blob);
    expect(all.map((p) => p.length)).toEqual([8, 8, 4]);
    expect(all.flat()).toEqual(expected);
    expect(shim.stats.pageListCuts).toBe(3);
  });

  it('honours maxresults, pages snapshot listings too, and cuts at seeded random points in fault mode', async () => {
    const { blob, expected } = await shard({ pageRangesPerAnswer: 6, randomPageCuts: 42, blobCaps: false }, 30);
    const random = await pages(blob);
    expect(random.flat()).toEqual(expected);
    expect(random.every((p) => p.length >= 1 && p.length <= 6)).toBe(true);
    expect(new Set(random.slice(0, -1).map((p) => p.length)).size).toBeGreaterThan(1);
    const snap = blob.withSnapshot((await blob.createSnapshot()).snapshot!);
    const capped = await pages(snap, 2);
    expect(capped.every((p) => p.length <= 2)).toBe(true);
    expect(capped.flat()).toEqual(expected);
  });
});

describe('Azurite behind the Azure shim: per-page-blob caps (storage-blob-scale-targets.md)', () => {
  it('answers 503 ServerBusy past 500 requests/s (scaled) with the Storage error body, and nothing under it', async () => {
    const { blob, shim } = await shard({ pageRangesPerAnswer: 64, timeScale: 50 }, 2); // 10 requests/s, burst 10
    await new Promise((r) => setTimeout(r, 1100)); // the setup's requests drained the bucket; let it refill
    expect(await blob.downloadToBuffer(0, 512).then(() => 'ok')).toBe('ok');
    const burst = await Promise.all(
      Array.from({ length: 30 }, () =>
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
    expect(shim.stats.serverBusy).toBe(busy.length);
  });

  it('answers 500 OperationTimedOut to a read that cannot finish in its server timeout at 60 MiB/s (scaled)', async () => {
    const { blob, shim } = await shard({ blobCaps: false }, 1);
    // Same blob, a second client whose shim runs at f = 1000: 60 KiB/s, so 1 MiB needs ~16 s against a 0.12 s timeout.
    const svc = BlobServiceClient.fromConnectionString(inject('azurite').connectionString, { retryOptions: { maxTries: 1 } });
    const slow = azuriteAsAzureShim(strictProfile({ timeScale: 1000 }));
    attachPolicy(svc, slow);
    await svc.getProperties(); // learns that this is Azurite
    const same = svc.getContainerClient(blob.containerName).getPageBlobClient(blob.name);
    const err = await same.downloadToBuffer(0, MIB).catch((e) => e);
    expect(err).toMatchObject({ statusCode: 500, code: 'OperationTimedOut' });
    expect(slow.stats.operationTimedOut).toBe(1);
    expect(shim.stats.operationTimedOut).toBe(0);
    expect((await blob.downloadToBuffer(0, MIB)).length).toBe(MIB); // unthrottled client: the read itself is fine
  });
});
