import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { cellTag, digestMatches, sha256, updatedTag, zeroTag } from '../../../src/core/engine/cell-digest';
import { copySegment } from '../../../src/core/engine/copy-segment';
import { planCell, type PreviousImage } from '../../../src/core/engine/copy-cell';
import { restoreDisk } from '../../../src/core/engine/restore-disk';
import { decodeDelta, encodeDelta, encodeManifest, ManifestFormatError } from '../../../src/core/engine/manifest';
import { decodePart, encodeHeader, encodePart, imageDigest, openManifest, sumCells } from '../../../src/core/engine/manifest-parts';
import { MemoryBackupStore } from '../../../src/core/adapters/memory/backup-store';
import { CELL } from '../../../src/core/domain/ranges';
import { MIB } from '../../../src/core/engine/shards';
import { PageModel, modelTarget, sourceOf } from '../../support/page-model';

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => (s = (s * 1664525 + 1013904223) >>> 0) / 2 ** 32;
}

describe('GHASH cell digests', () => {
  it('move forward from the old and new bytes of the changed pages alone, to the digest of the new cell', () => {
    const rand = rng(3);
    for (const length of [CELL, CELL - 1536, 512]) {
      const old = randomBytes(length);
      const now = Buffer.from(old);
      const xor = Buffer.alloc(length);
      for (let k = 0; k < 20; k++) {
        const at = Math.floor(rand() * (length / 512)) * 512;
        const piece = randomBytes(512);
        for (let i = 0; i < 512; i++) xor[at + i] = old[at + i]! ^ piece[i]!;
        piece.copy(now, at);
      }
      expect(updatedTag(cellTag(old), xor).equals(cellTag(now))).toBe(true);
    }
  });

  it('change with any single flipped bit, and equal the zero digest only for zeros', () => {
    const cell = randomBytes(CELL);
    const tag = cellTag(cell);
    for (const bit of [0, 7, 8 * 4096 + 3, 8 * CELL - 1]) {
      const x = Buffer.from(cell);
      x[bit >> 3]! ^= 1 << (bit & 7);
      expect(cellTag(x).equals(tag)).toBe(false);
    }
    expect(cellTag(Buffer.alloc(CELL)).equals(zeroTag(CELL))).toBe(true);
    expect(tag.equals(zeroTag(CELL))).toBe(false);
  });

  it('check cells written in either format', () => {
    const cell = randomBytes(4096);
    expect(digestMatches(cellTag(cell), cell)).toBe(true);
    expect(digestMatches(sha256(cell), cell)).toBe(true);
    expect(digestMatches(sha256(cell), Buffer.alloc(4096))).toBe(false);
    expect(digestMatches(Buffer.alloc(20), cell)).toBe(false);
  });
});

describe('format-2 manifest parts', () => {
  it('round-trip, refuse a damaged part, and read a range from only the parts that cover it', async () => {
    const cells = new Map([
      [3, cellTag(Buffer.alloc(512, 1))],
      [5, sha256(Buffer.alloc(512, 2))],
    ]);
    const part = encodePart({ firstCell: 2, spanCells: 4, cells });
    expect(decodePart(part).cells).toEqual(cells);
    const bad = Buffer.from(part);
    bad[30]! ^= 1;
    expect(() => decodePart(bad)).toThrow(ManifestFormatError);
    expect(() => decodePart(part.subarray(0, part.length - 1))).toThrow(ManifestFormatError);

    const blobs = new Map<string, Buffer>();
    const reads: string[] = [];
    const get = async (n: string): Promise<Buffer | undefined> => {
      reads.push(n);
      return blobs.get(n);
    };
    blobs.set('m', encodeHeader({ diskSize: 8 * CELL, partCells: 2, parts: 4, cells: 2, sum: sumCells(cells) }));
    for (let p = 0; p < 4; p++) blobs.set(`m/${p}`, encodePart({ firstCell: 2 * p, spanCells: 2, cells: new Map([...cells].filter(([i]) => Math.floor(i / 2) === p)) }));
    const reader = (await openManifest(get, 'm', (n, p) => `${n}/${p}`))!;
    expect(reader.format).toBe(2);
    reads.length = 0;
    expect([...(await reader.cells({ start: 4 * CELL, end: 6 * CELL })).keys()]).toEqual([5]);
    expect(reads).toEqual(['m/2']);
    blobs.delete('m/1');
    await expect(reader.cells({ start: 0, end: 8 * CELL })).rejects.toThrow(/part 1 is missing/);
  });

  it('reads a format-1 manifest as one blob, and its digest as points then recorded it', async () => {
    const cells = new Map([7, 1, 3, 4].map((i) => [i, sha256(Buffer.alloc(CELL, i))] as [number, Buffer]));
    const reader = (await openManifest(
      async () => encodeManifest({ diskSize: 8 * CELL, cells }),
      'old',
      (n) => n,
    ))!;
    expect(reader.format).toBe(1);
    expect(reader.legacyDigest).toMatch(/^[0-9a-f]{64}$/);
    expect([...(await reader.cells({ start: 0, end: 8 * CELL })).keys()]).toEqual([1, 3, 4, 7]);
    expect([...(await reader.cells({ start: 2 * CELL, end: 4 * CELL + 512 })).keys()]).toEqual([3, 4]);
    expect([...(await reader.cells({ start: 5 * CELL, end: 7 * CELL })).keys()]).toEqual([]);
  });

  it('sum to the same image digest however the cells are split into parts', () => {
    const cells = new Map(Array.from({ length: 40 }, (_, i) => [i * 3, cellTag(Buffer.alloc(512, i + 1))] as [number, Buffer]));
    const whole = imageDigest(200 * CELL, sumCells(cells));
    const a = sumCells([...cells].filter(([i]) => i < 50));
    const b = sumCells(
      [...cells].filter(([i]) => i >= 50),
      a,
    );
    expect(imageDigest(200 * CELL, b)).toBe(whole);
  });

  it('keeps segment checkpoints of both digest lengths and of the format before', () => {
    const d = new Map<number, Buffer | null>([
      [1, cellTag(Buffer.alloc(512, 1))],
      [2, null],
      [9, sha256(Buffer.alloc(1))],
    ]);
    expect(decodeDelta(encodeDelta(d))).toEqual(d);
    const v1 = Buffer.alloc(8 + 41);
    v1.writeBigUInt64BE(1n, 0);
    v1.writeBigUInt64BE(4n, 8);
    v1[16] = 1;
    expect([...decodeDelta(v1).keys()]).toEqual([4]);
  });
});

describe('incremental copies without whole-cell read-back', () => {
  const size = 32 * MIB;
  const shard = 'fmt/shard-0';

  async function fullThenChange(change: (d: PageModel) => void, cost?: { requestsPerSecond: number; bytesPerSecond: number }) {
    const store = new MemoryBackupStore();
    const disk = new PageModel(size);
    for (let o = 0; o < size; o += MIB) disk.write(o, randomBytes(MIB)); // fully written
    await store.ensureShard(shard, size);
    const s0 = disk.clone();
    const bases = new Map([['b0', s0]]);
    const full = await copySegment(
      { segment: { start: 0, end: size }, diskSize: size, shardSize: size, shardName: () => shard, concurrency: 4, diffWindow: size },
      { source: sourceOf(s0, bases), store },
    );
    const cells = new Map([...full.delta].filter(([, h]) => h) as [number, Buffer][]);
    const previous: PreviousImage = { diskSize: size, cells, snapshots: [await store.snapshotShard(shard)] };
    change(disk);
    const s1 = disk.clone();
    const inc = await copySegment(
      { segment: { start: 0, end: size }, diskSize: size, shardSize: size, shardName: () => shard, concurrency: 4, diffWindow: size, baseSasUrl: 'b0', previous, cost },
      { source: sourceOf(s1, bases), store },
    );
    const after = new Map(cells);
    for (const [i, h] of inc.delta) h ? after.set(i, h) : after.delete(i);
    const target = new PageModel(size);
    await restoreDisk(
      { diskSize: size, shardSize: size, shards: [{ name: shard, snapshot: await store.snapshotShard(shard) }], manifest: { diskSize: size, cells: after }, concurrency: 4, rangeWindow: size },
      store,
      modelTarget(target),
    );
    return { stats: inc.stats, exact: target.equals(s1) };
  }

  it('random 8 KiB writes: reads back exactly the changed bytes, so moved bytes are 3x the change, and restores exact', async () => {
    const rand = rng(11);
    const { stats, exact } = await fullThenChange((d) => {
      for (let k = 0; k < 40; k++) d.write(Math.floor(rand() * (size / 8192)) * 8192, randomBytes(8192)); // few per cell: fragments
    });
    expect(exact).toBe(true);
    expect(stats.backupBytesRead).toBe(stats.changedBytes);
    expect(stats.sourceBytesRead).toBe(stats.changedBytes);
    expect((stats.sourceBytesRead + stats.backupBytesRead + stats.bytesUploaded) / stats.changedBytes).toBeLessThanOrEqual(3);
  });

  it('4 KiB writes at unaligned 512-byte offsets and trims restore exact with read-back equal to the change', async () => {
    const rand = rng(12);
    const { stats, exact } = await fullThenChange((d) => {
      for (let k = 0; k < 40; k++) d.write(Math.floor(rand() * (size / 512 - 8)) * 512, randomBytes(4096));
      d.clear(5 * MIB + 512, 8192);
    });
    expect(exact).toBe(true);
    expect(stats.backupBytesRead).toBe(stats.changedBytes + 8192);
  });

  it('copies a cell with hundreds of single-page changes whole (2 requests) under the page-blob targets, and exact', async () => {
    const rand = rng(13);
    const { stats, exact } = await fullThenChange((d) => {
      for (let k = 0; k < 3000; k++) d.write(Math.floor(rand() * (size / 512)) * 512, randomBytes(512));
    });
    expect(exact).toBe(true);
    expect(stats.sourceReads).toBe(size / CELL);
    expect(stats.putRequests).toBe(size / CELL);
    expect(stats.backupBytesRead).toBe(0);
  });

  it('picks fragments for a few changes, the whole cell for many, and rebuilds a cell whose digest is format 1', () => {
    const span = { start: 0, end: CELL };
    const few = { index: 0, span, changed: [{ start: 0, end: 8192 }], cleared: [] };
    const many = { index: 0, span, changed: Array.from({ length: 400 }, (_, i) => ({ start: i * 8192, end: i * 8192 + 512 })), cleared: [] };
    const ghash = { diskSize: CELL, cells: new Map([[0, cellTag(Buffer.alloc(CELL, 1))]]), snapshots: ['s'] };
    expect(planCell(few, { previous: ghash })).toBe('fragments');
    expect(planCell(many, { previous: ghash })).toBe('whole');
    expect(planCell(few, { previous: { ...ghash, cells: new Map([[0, sha256(Buffer.alloc(CELL, 1))]]) } })).toBe('rebuild');
    expect(planCell(few, { previous: { ...ghash, diskSize: CELL - 512 } })).toBe('rebuild'); // the cell grew
  });
});
