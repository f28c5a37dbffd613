import { describe, expect, it, inject, beforeAll } from 'vitest';
import { BlobServiceClient } from '@azure/storage-blob';
import { BlobBackupStore } from '../../../src/core/adapters/azure/blob-backup-store';
import { copySegment } from '../../../src/core/engine/copy-segment';
import { restoreDisk } from '../../../src/core/engine/restore-disk';
import { applyDeltas, type DiskManifest } from '../../../src/core/engine/manifest';
import { shardLayout, segmentLayout, MIB } from '../../../src/core/engine/shards';
import type { BackupStore } from '../../../src/core/ports/storage';
import { PageModel, sourceOf, modelTarget } from '../../support/page-model';
import { MemoryBackupStore } from '../../../src/core/adapters/memory/backup-store';
import { uniqueName } from '../../support/names';

/** A cost model under which a request costs nothing: every cell is copied by its fragments, as before format 2. */
const REQUESTS_FREE = { requestsPerSecond: Number.POSITIVE_INFINITY, bytesPerSecond: 60 * MIB };

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => (s = (s * 1664525 + 1013904223) >>> 0) / 2 ** 32;
}

/** Random writes (some of zeros) and clears; runs up to `maxRun` pages, so some cross 4 MiB cell lines. */
function mutate(disk: PageModel, rand: () => number, ops: number, maxRun: number): void {
  const pages = disk.size / 512;
  for (let k = 0; k < ops; k++) {
    const kind = rand();
    const start = Math.floor(rand() * pages);
    const n = kind < 0.4 ? 1 : Math.min(pages - start, 1 + Math.floor(rand() * maxRun));
    if (kind < 0.85) {
      const data = Buffer.alloc(n * 512);
      for (let i = 0; i < data.length; i += 4) data.writeUInt32LE(Math.floor(rand() * 2 ** 32), i);
      if (rand() < 0.1) data.fill(0); // written zeros are valid pages but must not be uploaded
      disk.write(start * 512, data);
    } else {
      disk.clear(start * 512, n * 512);
    }
  }
}

/**
 * The same cases on the memory store (fast, every generation) and on Azurite through the real BlobBackupStore
 * (fewer generations and scattered writes: each costs Put Page calls there), so the memory store cannot pass where
 * a page blob would fail. Timeouts are about 3x the time measured on a loaded 2-core machine.
 */
const STORES: { name: string; generations: number; scattered: number; timeout: number; open(): Promise<BackupStore> }[] = [
  { name: 'a memory store', generations: 6, scattered: 3000, timeout: 45_000, open: async () => new MemoryBackupStore() },
  {
    name: 'Azurite',
    generations: 3,
    scattered: 300,
    timeout: 90_000,
    async open() {
      const store = new BlobBackupStore(BlobServiceClient.fromConnectionString(inject('azurite').connectionString).getContainerClient(uniqueName('eng')));
      await store.ensureContainer();
      return store;
    },
  },
];

describe.each(STORES)('copy and restore engine on $name', ({ generations, scattered, timeout, open }) => {
  let store: BackupStore;
  beforeAll(async () => {
    store = await open();
  });

  it(`restores every one of ${generations} generations byte-exact across shard boundaries and reads only changed pages`, { timeout }, async () => {
    const size = 96 * MIB + 3 * 512; // not a multiple of the cell: the last 1.5 KiB must survive
    const shardSize = 32 * MIB;
    const disk = new PageModel(size);
    const rand = rng(7);
    const bases = new Map<string, PageModel>();
    let manifest: DiskManifest | undefined;
    const shardName = (n: number): string => `item/disk0/shard-${n}`;
    const points: { model: PageModel; shards: { name: string; snapshot: string }[]; manifest: DiskManifest }[] = [];
    for (let gen = 0; gen < generations; gen++) {
      // 1 MiB runs at most: the byte volume is not the point, the boundaries are (hashing dominated the time).
      mutate(disk, rand, 40, 2_000);
      // A run across a shard line every generation, alternating the two lines, so no seed can miss them.
      disk.write((gen % 2 ? 64 : 32) * MIB - 4096, Buffer.alloc(8192, 1 + gen));
      if (gen === 2) disk.write(size - 512, Buffer.alloc(512, 9)); // the very last page
      const snap = disk.clone();
      const url = `base-${gen}`;
      bases.set(url, snap);
      const prev = points[points.length - 1];
      for (const s of shardLayout(size, shardSize)) await store.ensureShard(shardName(s.index), s.span.end - s.span.start);
      const counters = { reads: 0, bytes: 0 };
      const deltas = [];
      let changed = 0,
        uploaded = 0,
        zeros = 0;
      for (const segment of segmentLayout(size, 40 * MIB)) {
        const res = await copySegment(
          {
            segment,
            diskSize: size,
            shardSize,
            shardName,
            concurrency: 4,
            diffWindow: 16 * MIB,
            baseSasUrl: prev ? `base-${gen - 1}` : undefined,
            previous: prev ? { diskSize: size, cells: prev.manifest.cells, snapshots: prev.shards.map((x) => x.snapshot) } : undefined,
          },
          { source: sourceOf(snap, bases, counters), store },
        );
        deltas.push(res.delta);
        changed += res.stats.changedBytes;
        uploaded += res.stats.bytesUploaded;
        zeros += res.stats.zeroBytesSkipped;
      }
      // Efficiency by counts: exactly the changed bytes are read; uploads are those minus zero chunks.
      expect(counters.bytes).toBe(changed);
      expect(uploaded + zeros).toBe(changed);
      manifest = applyDeltas(manifest, size, deltas);
      const shards = [];
      for (const s of shardLayout(size, shardSize)) shards.push({ name: shardName(s.index), snapshot: await store.snapshotShard(shardName(s.index)) });
      points.push({ model: snap, shards, manifest });
    }
    for (const p of points) {
      const target = new PageModel(size);
      await restoreDisk({ diskSize: size, shardSize, shards: p.shards, manifest: p.manifest, concurrency: 4, rangeWindow: 8 * MIB }, store, modelTarget(target));
      expect(target.equals(p.model)).toBe(true);
    }
  });

  it('refuses a restore whose vault content does not match the manifest', { timeout: 30_000 }, async () => {
    const size = 8 * MIB;
    const disk = new PageModel(size);
    disk.write(4096, Buffer.alloc(8192, 1));
    const name = 'corrupt/shard-0';
    await store.ensureShard(name, size);
    const { delta } = await copySegment(
      { segment: { start: 0, end: size }, diskSize: size, shardSize: size, shardName: () => name, concurrency: 2, diffWindow: size },
      { source: sourceOf(disk, new Map()), store },
    );
    await store.putPages(name, 4096, Buffer.alloc(512, 2)); // bit rot after the backup
    const snapshot = await store.snapshotShard(name);
    await expect(
      restoreDisk(
        { diskSize: size, shardSize: size, shards: [{ name, snapshot }], manifest: applyDeltas(undefined, size, [delta]), concurrency: 2, rangeWindow: size },
        store,
        modelTarget(new PageModel(size)),
      ),
    ).rejects.toThrow(/differs from the recovery point's manifest/);
  });

  it('reads scattered changes with one request per contiguous run: the coalesced optimum', { timeout }, async () => {
    const size = 256 * MIB;
    const disk = new PageModel(size);
    const rand = rng(99);
    for (let i = 0; i < scattered; i++) disk.write(Math.floor(rand() * (size / 512)) * 512, Buffer.alloc(512, 1 + (i % 250)));
    disk.write(4 * MIB - 1024, Buffer.alloc(2048, 7)); // a run across a cell line counts twice
    const counters = { reads: 0, bytes: 0 };
    await store.ensureShard('scatter/shard-0', size);
    const res = await copySegment(
      { segment: { start: 0, end: size }, diskSize: size, shardSize: size, shardName: () => 'scatter/shard-0', concurrency: 8, diffWindow: 64 * MIB, cost: REQUESTS_FREE },
      { source: sourceOf(disk, new Map(), counters), store },
    );
    const runs = disk.ranges({ start: 0, end: size });
    let optimum = 0;
    for (const r of runs) optimum += Math.ceil(r.end / (4 * MIB)) - Math.floor(r.start / (4 * MIB)) - (r.end % (4 * MIB) === 0 ? 1 : 0);
    expect(counters.reads).toBe(optimum);
    expect(res.stats.putRequests).toBe(optimum);
    expect(counters.bytes).toBe(res.stats.changedBytes);
  });
});
