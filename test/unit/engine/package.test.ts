import { describe, expect, it } from 'vitest';
import { exportDisk, newExportStats, type DiskImageReader } from '../../../src/core/engine/package-export';
import { checkPackageFiles } from '../../../src/core/engine/package-import';
import { COMPLETE_FILE, MANIFEST_FILE, type PackageError, completeMarker, diskManifestOf, encodePackageManifest, parsePackage, type PackageManifest } from '../../../src/core/engine/package-format';
import { manifestDigest, sha256 } from '../../../src/core/engine/manifest';
import { CELL, coalesce, type Range } from '../../../src/core/domain/ranges';
import type { PackageStore } from '../../../src/core/ports/packages';

const MIB = 1024 * 1024;

/** In-memory package store for the pure engine logic; the real adapters have their contract test. */
class MemoryPackageStore implements PackageStore {
  readonly location = 'memory';
  files = new Map<string, Buffer>();
  puts = 0;
  async prepare(): Promise<void> {}
  async put(name: string, data: Buffer): Promise<void> {
    this.puts++;
    this.files.set(name, Buffer.from(data));
  }
  async get(name: string): Promise<Buffer | undefined> {
    return this.files.get(name);
  }
  async list(): Promise<{ name: string; size: number }[]> {
    return [...this.files].map(([name, b]) => ({ name, size: b.length }));
  }
  async remove(name: string): Promise<void> {
    this.files.delete(name);
  }
}

/** A sparse disk image: allocated ranges with content; reads can be made to fail after a number of calls. */
function image(size: number, writes: { at: number; data: Buffer }[]): DiskImageReader & { reads: number; failAfter?: number } {
  const mem = Buffer.alloc(size);
  for (const w of writes) w.data.copy(mem, w.at);
  const allocated = coalesce(writes.map((w) => ({ start: Math.floor(w.at / 512) * 512, end: Math.ceil((w.at + w.data.length) / 512) * 512 })));
  const r = {
    reads: 0,
    failAfter: undefined as number | undefined,
    async ranges(w: Range) {
      return allocated.filter((a) => a.end > w.start && a.start < w.end).map((a) => ({ start: Math.max(a.start, w.start), end: Math.min(a.end, w.end) }));
    },
    async read(x: Range) {
      if (r.failAfter !== undefined && r.reads >= r.failAfter) throw Object.assign(new Error('cut off'), { statusCode: 400 });
      r.reads++;
      return Buffer.from(mem.subarray(x.start, x.end));
    },
  };
  return r;
}

const text = (n: number): Buffer => Buffer.from('row '.repeat(n / 4));
const writes = [
  { at: 0, data: text(MIB) },
  { at: 5 * CELL + 512, data: text(2 * MIB) },
  { at: 9 * CELL - 1024, data: text(4096) }, // straddles two cells
  { at: 20 * CELL, data: Buffer.alloc(CELL) }, // allocated but all zero: no chunk
  { at: 64 * MIB - 512, data: text(512) },
];

async function pack(pkg: MemoryPackageStore, reader: DiskImageReader): Promise<PackageManifest> {
  const chunks = await exportDisk({ diskKey: 'lun-0', diskSize: 64 * MIB, concurrency: 4, rangeWindow: 16 * MIB, existing: await pkg.list() }, reader, pkg);
  const m: PackageManifest = {
    format: 1,
    itemKey: 'vm;s;rg;a',
    jobId: 'j1',
    createdAt: new Date(0).toISOString(),
    source: 'NewSnapshot',
    consistency: 'CrashConsistent',
    disks: [{ diskKey: 'lun-0', name: 'a-data', lun: 0, sizeBytes: 64 * MIB, shardSize: 32 * MIB, sourceDiskId: 'd', sourceSnapshot: { id: 's' }, dataBytes: 0, chunks }],
  };
  const buf = encodePackageManifest(m);
  await pkg.put(MANIFEST_FILE, buf);
  await pkg.put(COMPLETE_FILE, completeMarker(buf));
  return m;
}

describe('recovery-point packages', () => {
  it('writes one compressed chunk per non-zero cell, hashed like the manifest cells', async () => {
    const pkg = new MemoryPackageStore();
    const reader = image(64 * MIB, writes);
    const m = await pack(pkg, reader);
    const cells = m.disks[0]!.chunks.map((c) => c.offset / CELL);
    expect(cells).toEqual([0, 5, 8, 9, 15]);
    const mem = Buffer.alloc(64 * MIB);
    for (const w of writes) w.data.copy(mem, w.at);
    for (const c of m.disks[0]!.chunks) expect(c.sha256).toBe(sha256(mem.subarray(c.offset, c.offset + c.length)).toString('hex'));
    expect(m.disks[0]!.chunks.every((c) => c.compressedLength < c.length / 10)).toBe(true);
    const parsed = parsePackage(pkg.files.get(MANIFEST_FILE), pkg.files.get(COMPLETE_FILE));
    expect(manifestDigest(diskManifestOf(parsed.disks[0]!))).toBe(manifestDigest(diskManifestOf(m.disks[0]!)));
    await checkPackageFiles(parsed, pkg);
  });

  it('resumes an interrupted export: verified chunks are kept, a damaged one is written again', async () => {
    const pkg = new MemoryPackageStore();
    const reader = image(64 * MIB, writes);
    reader.failAfter = 2;
    await expect(exportDisk({ diskKey: 'lun-0', diskSize: 64 * MIB, concurrency: 1, rangeWindow: 16 * MIB, existing: [] }, reader, pkg)).rejects.toThrow('cut off');
    const kept = [...pkg.files.keys()];
    expect(kept.length).toBeGreaterThan(0);
    pkg.files.set(kept[0]!, Buffer.from('torn'));
    const again = image(64 * MIB, writes);
    const stats = newExportStats();
    const chunks = await exportDisk({ diskKey: 'lun-0', diskSize: 64 * MIB, concurrency: 2, rangeWindow: 16 * MIB, existing: await pkg.list() }, again, pkg, { stats });
    expect(chunks).toHaveLength(5);
    expect(stats.chunksReused).toBe(kept.length - 1);
    expect(stats.chunksWritten).toBe(5 - stats.chunksReused);
    expect(pkg.files.size).toBe(5);
  });

  it('refuses a package without its marker, with an altered manifest, or with chunks that do not fit the disk', async () => {
    const pkg = new MemoryPackageStore();
    const m = await pack(pkg, image(64 * MIB, writes));
    const manifest = pkg.files.get(MANIFEST_FILE)!;
    const code = (f: () => unknown): string | undefined => {
      try {
        f();
      } catch (e) {
        return (e as PackageError).code;
      }
      return undefined;
    };
    expect(code(() => parsePackage(manifest, undefined))).toBe('PackageIncomplete');
    expect(code(() => parsePackage(undefined, pkg.files.get(COMPLETE_FILE)))).toBe('PackageIncomplete');
    const altered = Buffer.from(manifest.toString().replace('"lun": 0', '"lun": 1'));
    expect(code(() => parsePackage(altered, pkg.files.get(COMPLETE_FILE)))).toBe('PackageChecksumMismatch');
    const bad = structuredClone(m);
    bad.disks[0]!.chunks[1]!.offset += 512;
    const badBuf = encodePackageManifest(bad);
    expect(code(() => parsePackage(badBuf, completeMarker(badBuf)))).toBe('PackageInvalid');
    pkg.files.delete(m.disks[0]!.chunks[2]!.file);
    await expect(checkPackageFiles(m, pkg)).rejects.toMatchObject({ code: 'PackageIncomplete' });
  });
});
