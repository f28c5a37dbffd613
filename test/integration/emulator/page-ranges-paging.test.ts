import { afterEach, describe, expect, it } from 'vitest';
import { PageBlobClient } from '@azure/storage-blob';
import { withEmulator, computeClientFor, SUB } from '../../support/emulator';
import type { ComputeEmulator, ComputeEmulatorOptions } from '../../../src/emulator/server';
import { SasDataPlane } from '../../../src/core/adapters/azure/sas-data-plane';

// Source: Get Page Ranges, https://learn.microsoft.com/rest/api/storageservices/get-page-ranges — `marker`
// ("The operation returns a marker value within the response body if the returned ranges were incomplete"),
// `maxresults`, and the `NextMarker` response element; the diff form takes x-ms-previous-snapshot-url
// (managed-disk snapshots, https://learn.microsoft.com/rest/api/storageservices/get-page-ranges "prevsnapshot").

const MIB = 1024 * 1024;
type R = { tag: 'PageRange' | 'ClearRange'; start: number; end: number };

let emu: ComputeEmulator | undefined;
afterEach(async () => {
  await emu?.close();
  emu = undefined;
});

/** A disk with `n` separate 512-byte fragments (every other page), snapshotted; then half rewritten, some cleared. */
async function fragmentedFamily(options: ComputeEmulatorOptions, n: number) {
  emu = await withEmulator({ lroDelayMs: 0, ...options });
  emu.createVm({
    subscriptionId: SUB,
    resourceGroup: 'rg',
    name: 'vm',
    disks: [
      { name: 'os', sizeBytes: 32 * MIB, lun: -1 },
      { name: 'd0', sizeBytes: 8 * MIB, lun: 0 },
    ],
  });
  const c = computeClientFor(emu);
  const vm = await c.virtualMachines.get('rg', 'vm');
  const diskId = vm.storageProfile!.dataDisks![0]!.managedDisk!.id!.toLowerCase();
  for (let i = 0; i < n; i++) emu.store.write(diskId, i * 1024, Buffer.alloc(512, 1 + (i % 200)));
  await c.snapshots.beginCreateOrUpdateAndWait('rg', 's1', { location: 'westeurope', incremental: true, creationData: { createOption: 'Copy', sourceResourceId: diskId } });
  const changed: R[] = [];
  for (let i = 0; i < n; i++) {
    if (i % 3 === 0) {
      emu.store.write(diskId, i * 1024, Buffer.alloc(512, 9));
      changed.push({ tag: 'PageRange', start: i * 1024, end: i * 1024 + 512 });
    }
    if (i % 3 === 1) {
      emu.store.clear(diskId, i * 1024, 512);
      changed.push({ tag: 'ClearRange', start: i * 1024, end: i * 1024 + 512 });
    }
  }
  await c.snapshots.beginCreateOrUpdateAndWait('rg', 's2', { location: 'westeurope', incremental: true, creationData: { createOption: 'Copy', sourceResourceId: diskId } });
  const sas1 = (await c.snapshots.beginGrantAccessAndWait('rg', 's1', { access: 'Read', durationInSeconds: 600 })).accessSAS!;
  const sas2 = (await c.snapshots.beginGrantAccessAndWait('rg', 's2', { access: 'Read', durationInSeconds: 600 })).accessSAS!;
  const valid: R[] = Array.from({ length: n }, (_, i) => ({ tag: 'PageRange' as const, start: i * 1024, end: i * 1024 + 512 }));
  return { s1: new PageBlobClient(sas1), s2: new PageBlobClient(sas2), sas1, valid, changed };
}

const asR = (tag: R['tag'], xs: { offset: number; count: number }[] | undefined): R[] => (xs ?? []).map((x) => ({ tag, start: x.offset, end: x.offset + x.count + 1 }));

async function allValidPages(blob: PageBlobClient, maxPageSize?: number): Promise<{ pages: R[][]; tokens: number }> {
  const pages: R[][] = [];
  let tokens = 0;
  for await (const page of blob.listPageRanges(0, 8 * MIB).byPage({ maxPageSize })) {
    pages.push((page.pageRange ?? []).map((x) => ({ tag: 'PageRange' as const, start: x.start, end: x.end + 1 })));
    if (page.continuationToken) tokens++;
  }
  return { pages, tokens };
}

/** Diff pages through the SDK's generated Get Page Ranges Diff operation, which takes both prevSnapshotUrl and marker. */
async function allDiffPages(blob: PageBlobClient, prevUrl: string): Promise<R[][]> {
  const ctx = (
    blob as unknown as {
      pageBlobContext: { getPageRangesDiff(o: object): Promise<{ pageRange?: { start: number; end: number }[]; clearRange?: { start: number; end: number }[]; continuationToken?: string }> };
    }
  ).pageBlobContext;
  const pages: R[][] = [];
  let marker: string | undefined;
  do {
    const res = await ctx.getPageRangesDiff({ prevSnapshotUrl: prevUrl, range: `bytes=0-${8 * MIB - 1}`, marker });
    pages.push(
      [
        ...(res.pageRange ?? []).map((x) => ({ tag: 'PageRange' as const, start: x.start, end: x.end + 1 })),
        ...(res.clearRange ?? []).map((x) => ({ tag: 'ClearRange' as const, start: x.start, end: x.end + 1 })),
      ].sort((a, b) => a.start - b.start),
    );
    marker = res.continuationToken || undefined;
  } while (marker);
  return pages;
}

describe('Get Page Ranges paging on the managed-disk data plane (get-page-ranges: marker, maxresults, NextMarker)', () => {
  it('cuts valid ranges after N with a NextMarker, and marker returns the rest exactly once', async () => {
    const f = await fragmentedFamily({ dataPlane: { pageRangesPerAnswer: 16 } }, 50);
    const first = await f.s1.getPageRanges(0, 8 * MIB);
    expect(first.pageRange).toHaveLength(16);
    expect(first.continuationToken).toBeTruthy();
    const { pages, tokens } = await allValidPages(f.s1);
    expect(pages.map((p) => p.length)).toEqual([16, 16, 16, 2]);
    expect(tokens).toBe(3);
    expect(pages.flat()).toEqual(f.valid);
    expect(emu!.dataStats.pageListCuts).toBe(4); // the lone first call, then three cuts while paging
  });

  it('honours maxresults below the cut, and answers in one piece when the ranges fit', async () => {
    const f = await fragmentedFamily({ dataPlane: { pageRangesPerAnswer: 16 } }, 12);
    const { pages } = await allValidPages(f.s1, 5);
    expect(pages.map((p) => p.length)).toEqual([5, 5, 2]);
    expect(pages.flat()).toEqual(f.valid.slice(0, 12));
    const whole = await f.s1.getPageRanges(0, 8 * MIB);
    expect(whole.pageRange).toHaveLength(12);
    expect(whole.continuationToken).toBeFalsy();
  });

  it('fault mode: cuts at seeded random points, and the continuation still yields every range once', async () => {
    const f = await fragmentedFamily({ dataPlane: { pageRangesPerAnswer: 10, randomPageCutSeed: 7 } }, 60);
    const { pages } = await allValidPages(f.s1);
    expect(pages.flat()).toEqual(f.valid);
    const sizes = pages.map((p) => p.length);
    expect(sizes.every((s) => s >= 1 && s <= 10)).toBe(true);
    expect(new Set(sizes.slice(0, -1)).size).toBeGreaterThan(1); // not a fixed cut
  });

  it('cuts diffs with x-ms-previous-snapshot-url (PageRange and ClearRange together) and continues them from marker', async () => {
    const f = await fragmentedFamily({ dataPlane: { pageRangesPerAnswer: 8 } }, 30);
    const first = await f.s2.getPageRangesDiffForManagedDisks(0, 8 * MIB, f.sas1);
    expect(asR('PageRange', first.pageRange).length + asR('ClearRange', first.clearRange).length).toBe(8);
    expect(first.continuationToken).toBeTruthy();
    const pages = await allDiffPages(f.s2, f.sas1);
    expect(pages.map((p) => p.length)).toEqual([8, 8, 4]);
    expect(pages.flat()).toEqual(f.changed);
  });

  it('refuses a marker it did not issue (400 InvalidQueryParameterValue)', async () => {
    const f = await fragmentedFamily({ dataPlane: { pageRangesPerAnswer: 8 } }, 4);
    const it = f.s1.listPageRanges(0, 8 * MIB).byPage({ continuationToken: 'not-a-marker' });
    await expect(it.next()).rejects.toMatchObject({ statusCode: 400, code: 'InvalidQueryParameterValue' });
  });

  // AZURE-FIDELITY B1: the product follows NextMarker on both listings (src/core/adapters/azure/page-list.ts).
  it('the product reads every valid range and every change of a window that Azure answers in pages', async () => {
    const f = await fragmentedFamily({ dataPlane: { pageRangesPerAnswer: 16 } }, 50);
    const dp = new SasDataPlane();
    const valid = await dp.openSource(f.s1.url).validRanges({ start: 0, end: 8 * MIB });
    const diff = await dp.openSource(f.s2.url).diff({ start: 0, end: 8 * MIB }, f.sas1);
    expect({ valid: valid.length, changed: diff.changed.length + diff.cleared.length }).toEqual({ valid: 50, changed: f.changed.length });
    expect(valid).toEqual(f.valid.map((r) => ({ start: r.start, end: r.end })));
    const asTagged = [...diff.changed.map((r) => ({ tag: 'PageRange', ...r })), ...diff.cleared.map((r) => ({ tag: 'ClearRange', ...r }))].sort((a, b) => a.start - b.start);
    expect(asTagged).toEqual(f.changed);
  });

  it('the product reads every range when every answer holds one range, and at random cuts', async () => {
    for (const dataPlane of [{ pageRangesPerAnswer: 1 }, { pageRangesPerAnswer: 5, randomPageCutSeed: 3 }]) {
      const f = await fragmentedFamily({ dataPlane }, 20);
      const dp = new SasDataPlane();
      expect(await dp.openSource(f.s1.url).validRanges({ start: 0, end: 8 * MIB })).toEqual(f.valid.map(({ start, end }) => ({ start, end })));
      const diff = await dp.openSource(f.s2.url).diff({ start: 0, end: 8 * MIB }, f.sas1);
      expect([...diff.changed, ...diff.cleared].length).toBe(f.changed.length);
      await emu!.close();
      emu = undefined;
    }
  });
});
