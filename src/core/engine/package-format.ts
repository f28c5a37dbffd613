import { createHash } from 'node:crypto';
import { promisify } from 'node:util';
import zlib from 'node:zlib';
import { z } from 'zod';
import { CELL } from '../domain/ranges';
import { assertShardSize } from './shards';
import type { DiskManifest } from './manifest';

/**
 * The portable recovery-point package. One 4 MiB manifest cell per chunk, so a chunk's SHA-256 (of the
 * uncompressed data) is exactly the cell hash of the recovery point's manifest: an import rebuilds the
 * point's manifest from the package and the export of a point can check every chunk against it.
 * Cells that are all zero (or unallocated in the source) have no chunk. Chunks are Brotli (node:zlib): at a
 * low quality it is faster than deflate and a partly written cell's zeros cost almost nothing, where deflate
 * spends about 1 KiB per MiB of zeros. Import also reads deflate chunks.
 */
export const PACKAGE_FORMAT = 1;

const brotli = promisify(zlib.brotliCompress);
const unbrotli = promisify(zlib.brotliDecompress);
const inflate = promisify(zlib.inflate);
export const MANIFEST_FILE = 'manifest.json';
/** Written last, after every chunk and the manifest: without it the package is incomplete. */
export const COMPLETE_FILE = 'complete.json';
/** Written first: which export owns this location, so a resumed export reuses only its own chunks. */
export const CLAIM_FILE = 'export.json';

const Hex64 = z.string().regex(/^[0-9a-f]{64}$/);
const DiskKey = z.string().regex(/^(os|lun-\d{1,2})$/);

const ChunkSchema = z.strictObject({
  offset: z.number().int().min(0),
  length: z.number().int().min(1).max(CELL),
  compressedLength: z.number().int().min(1),
  compression: z.enum(['brotli', 'deflate']),
  sha256: Hex64,
  file: z.string().regex(/^disks\/[a-z0-9-]+\/c[0-9]{10}-[0-9a-f]{64}\.(br|z)$/),
});

const DiskSchema = z.strictObject({
  diskKey: DiskKey,
  name: z.string().min(1).max(200),
  lun: z.number().int().min(-1).max(63),
  sizeBytes: z.number().int().min(512),
  shardSize: z.number().int().min(CELL),
  sourceDiskId: z.string().max(400),
  sourceSnapshot: z.strictObject({ id: z.string().min(1).max(400), time: z.string().optional() }),
  dataBytes: z.number().int().min(0),
  chunks: z.array(ChunkSchema),
});

export const PackageManifestSchema = z.strictObject({
  format: z.literal(PACKAGE_FORMAT),
  itemKey: z.string().min(4).max(400),
  jobId: z.string().min(1).max(100),
  createdAt: z.string(),
  source: z.enum(['NewSnapshot', 'RecoveryPoint']),
  pointId: z.string().optional(),
  consistency: z.enum(['ApplicationConsistent', 'FileSystemConsistent', 'CrashConsistent']),
  disks: z.array(DiskSchema).min(1).max(65),
});

export type PackageManifest = z.infer<typeof PackageManifestSchema>;
export type PackageDisk = z.infer<typeof DiskSchema>;
export type PackageChunk = z.infer<typeof ChunkSchema>;

export type PackageErrorCode = 'PackageIncomplete' | 'PackageChecksumMismatch' | 'PackageInvalid' | 'PackageLocationInUse';

/** What is wrong with a package; the service turns it into a job error with a recommended action. */
export class PackageError extends Error {
  constructor(
    readonly code: PackageErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'PackageError';
  }
}

export function chunkFile(diskKey: string, cell: number, sha256hex: string): string {
  return `disks/${diskKey}/c${String(cell).padStart(10, '0')}-${sha256hex}.br`;
}

/** The cell index and hash a chunk's name claims, or undefined for a name that is not a chunk. */
export function parseChunkFile(name: string): { diskKey: string; cell: number; sha256: string } | undefined {
  const m = /^disks\/([a-z0-9-]+)\/c([0-9]{10})-([0-9a-f]{64})\.(br|z)$/.exec(name);
  return m ? { diskKey: m[1]!, cell: Number(m[2]), sha256: m[3]! } : undefined;
}

export type Compression = PackageChunk['compression'];

export async function compressChunk(data: Buffer): Promise<Buffer> {
  return brotli(data, { params: { [zlib.constants.BROTLI_PARAM_QUALITY]: 4, [zlib.constants.BROTLI_PARAM_SIZE_HINT]: data.length } });
}

/** Inflates a chunk; throws on a damaged stream. */
export async function decompressChunk(body: Buffer, compression: Compression): Promise<Buffer> {
  // Bounded: a crafted chunk cannot inflate past one cell.
  return compression === 'brotli' ? unbrotli(body, { maxOutputLength: CELL }) : inflate(body, { maxOutputLength: CELL });
}

export function compressionOf(file: string): Compression {
  return file.endsWith('.z') ? 'deflate' : 'brotli';
}

export function encodePackageManifest(m: PackageManifest): Buffer {
  return Buffer.from(JSON.stringify(m, null, 1));
}

export function completeMarker(manifest: Buffer): Buffer {
  return Buffer.from(JSON.stringify({ format: PACKAGE_FORMAT, manifestSha256: createHash('sha256').update(manifest).digest('hex') }));
}

/**
 * Parses and checks a package's manifest against its completion marker and its own geometry, so nothing is
 * written from a package whose description is altered, partial or inconsistent.
 */
export function parsePackage(manifestBuf: Buffer | undefined, completeBuf: Buffer | undefined): PackageManifest {
  if (!manifestBuf || !completeBuf) {
    throw new PackageError('PackageIncomplete', `The package has no ${manifestBuf ? 'completion marker' : 'manifest'}: its export did not finish or the copy is partial.`);
  }
  let marker: { manifestSha256?: unknown };
  try {
    marker = JSON.parse(completeBuf.toString('utf8')) as { manifestSha256?: unknown };
  } catch {
    throw new PackageError('PackageInvalid', 'The completion marker of the package is not valid JSON.');
  }
  if (marker.manifestSha256 !== createHash('sha256').update(manifestBuf).digest('hex')) {
    throw new PackageError('PackageChecksumMismatch', 'The package manifest does not match the checksum in its completion marker.');
  }
  let json: unknown;
  try {
    json = JSON.parse(manifestBuf.toString('utf8'));
  } catch {
    throw new PackageError('PackageInvalid', 'The package manifest is not valid JSON.');
  }
  const r = PackageManifestSchema.safeParse(json);
  if (!r.success)
    throw new PackageError(
      'PackageInvalid',
      `The package manifest is invalid: ${r.error.issues
        .slice(0, 3)
        .map((i) => `${i.path.join('.')}: ${i.message}`)
        .join('; ')}`,
    );
  checkGeometry(r.data);
  return r.data;
}

/** Every disk once, with a valid shard size, and every chunk a whole cell of its disk named after its hash. */
function checkGeometry(m: PackageManifest): void {
  const keys = new Set<string>();
  for (const d of m.disks) {
    if (keys.has(d.diskKey)) throw new PackageError('PackageInvalid', `Disk '${d.diskKey}' appears twice in the package.`);
    keys.add(d.diskKey);
    try {
      assertShardSize(d.shardSize);
    } catch {
      throw new PackageError('PackageInvalid', `Disk '${d.diskKey}' has an invalid shard size ${d.shardSize}.`);
    }
    const cells = new Set<number>();
    for (const c of d.chunks) {
      const cell = c.offset / CELL;
      const expectedLength = Math.min(CELL, d.sizeBytes - c.offset);
      const named = parseChunkFile(c.file);
      if (
        !Number.isInteger(cell) ||
        c.offset >= d.sizeBytes ||
        c.length !== expectedLength ||
        cells.has(cell) ||
        !named ||
        named.diskKey !== d.diskKey ||
        named.cell !== cell ||
        named.sha256 !== c.sha256 ||
        compressionOf(c.file) !== c.compression
      ) {
        throw new PackageError('PackageInvalid', `Chunk at offset ${c.offset} of disk '${d.diskKey}' does not fit the disk's geometry.`);
      }
      cells.add(cell);
    }
  }
}

/** The recovery point's manifest of one disk, straight from the package's chunk hashes. */
export function diskManifestOf(d: PackageDisk): DiskManifest {
  return { diskSize: d.sizeBytes, cells: new Map(d.chunks.map((c) => [c.offset / CELL, Buffer.from(c.sha256, 'hex')])) };
}
