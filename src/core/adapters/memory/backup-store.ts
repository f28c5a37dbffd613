import { MAX_PUT_PAGE, type Range } from '../../domain/ranges';
import { BlobImmutableError, type BackupStore, type ImmutabilityPolicy } from '../../ports/storage';
import { MemoryServiceError, PageMap } from './pages';

/** A page blob can be at most 8 TiB (https://learn.microsoft.com/rest/api/storageservices/put-blob). */
const MAX_PAGE_BLOB = 8 * 1024 ** 4;

interface PageBlob {
  pages: PageMap;
  /** Blob snapshots by id: read-only copies (https://learn.microsoft.com/rest/api/storageservices/snapshot-blob). */
  snapshots: Map<string, PageMap>;
}

const notFound = (name: string): MemoryServiceError => new MemoryServiceError(404, 'BlobNotFound', `The specified blob '${name}' does not exist.`);

/**
 * BackupStore in memory, with the page-blob rules Azure Storage enforces: sizes and ranges 512-aligned, Put
 * Page at most 4 MiB, snapshots immutable and deleted with their blob, reads past the end refused.
 */
export class MemoryBackupStore implements BackupStore {
  private readonly blobs = new Map<string, PageBlob>();
  private readonly objects = new Map<string, Buffer>();
  private lastSnapshotMs = 0;
  /** Immutability policies by `name\nsnapshot` ('' for a block blob's current version). */
  private readonly policies = new Map<string, ImmutabilityPolicy>();

  constructor(private readonly clock: () => number = Date.now) {}

  private blob(name: string): PageBlob {
    const b = this.blobs.get(name);
    if (!b) throw notFound(name);
    return b;
  }

  async ensureShard(name: string, size: number): Promise<void> {
    if (size % 512 !== 0 || size > MAX_PAGE_BLOB) throw new MemoryServiceError(400, 'InvalidHeaderValue', `A page blob's size must be a multiple of 512 and at most 8 TiB, not ${size}.`);
    const b = this.blobs.get(name);
    if (b) b.pages.resize(size);
    else this.blobs.set(name, { pages: new PageMap(size), snapshots: new Map() });
  }

  async resetShard(name: string, size: number): Promise<void> {
    await this.ensureShard(name, size);
    const b = this.blob(name);
    b.pages.resize(0);
    b.pages.resize(size);
  }

  async readShard(name: string, range: Range): Promise<Buffer> {
    return this.blob(name).pages.read(range);
  }

  async putPages(name: string, offset: number, data: Buffer): Promise<void> {
    if (data.length > MAX_PUT_PAGE) throw new RangeError('Put Page over 4 MiB');
    this.blob(name).pages.write(offset, data);
  }

  async clearPages(name: string, range: Range): Promise<void> {
    this.blob(name).pages.clear(range);
  }

  /** Snapshot ids are the DateTime the service took them, in its 7-digit format; unique per blob. */
  async snapshotShard(name: string): Promise<string> {
    const b = this.blob(name);
    const ms = Math.max(this.clock(), this.lastSnapshotMs + 1);
    this.lastSnapshotMs = ms;
    const id = new Date(ms).toISOString().replace(/Z$/, '0000Z');
    b.snapshots.set(id, b.pages.copy());
    return id;
  }

  private snapshot(name: string, snapshot: string): PageMap {
    const s = this.blobs.get(name)?.snapshots.get(snapshot);
    if (!s) throw notFound(`${name}?snapshot=${snapshot}`);
    return s;
  }

  async shardSnapshotRanges(name: string, snapshot: string, window: Range): Promise<Range[]> {
    return this.snapshot(name, snapshot).validRanges(window);
  }

  async readShardSnapshot(name: string, snapshot: string, range: Range): Promise<Buffer> {
    return this.snapshot(name, snapshot).read(range);
  }

  async deleteShardSnapshot(name: string, snapshot: string): Promise<void> {
    this.refuseIfProtected(name, snapshot);
    this.blobs.get(name)?.snapshots.delete(snapshot);
  }

  async putObject(name: string, data: Buffer): Promise<void> {
    this.refuseIfProtected(name, '');
    this.objects.set(name, Buffer.from(data));
  }

  async getObject(name: string): Promise<Buffer | undefined> {
    const o = this.objects.get(name);
    return o ? Buffer.from(o) : undefined;
  }

  async deleteObject(name: string): Promise<void> {
    this.refuseIfProtected(name, '');
    this.objects.delete(name);
  }

  /** Blobs under the prefix, their snapshots with them. */
  async deletePrefix(prefix: string): Promise<void> {
    for (const [name, snaps] of [...this.blobs].map(([n, b]) => [n, [...b.snapshots.keys()]] as const)) {
      if (name.startsWith(prefix)) for (const s of snaps) this.refuseIfProtected(name, s);
    }
    for (const n of this.objects.keys()) if (n.startsWith(prefix)) this.refuseIfProtected(n, '');
    for (const n of [...this.blobs.keys()]) if (n.startsWith(prefix)) this.blobs.delete(n);
    for (const n of [...this.objects.keys()]) if (n.startsWith(prefix)) this.objects.delete(n);
  }

  /**
   * The rules of version-level immutability (https://learn.microsoft.com/azure/storage/blobs/immutable-version-level-worm-policies):
   * a date in the past is refused; an unlocked policy moves either way or becomes locked; a locked one only
   * moves later. The Azure adapter is tested against the same rules on the local stack's Azurite shim.
   */
  async setImmutability(name: string, snapshot: string | undefined, policy: ImmutabilityPolicy): Promise<void> {
    const exists = snapshot ? this.blobs.get(name)?.snapshots.has(snapshot) : this.objects.has(name);
    if (!exists) throw notFound(snapshot ? `${name}?snapshot=${snapshot}` : name);
    if (policy.until.getTime() <= this.clock()) throw new MemoryServiceError(400, 'InvalidHeaderValue', 'x-ms-immutability-policy-until-date must be in the future.');
    const key = `${name}\n${snapshot ?? ''}`;
    const cur = this.policies.get(key);
    if (cur?.mode === 'Locked' && cur.until.getTime() > this.clock() && (policy.mode !== 'Locked' || policy.until < cur.until)) {
      throw new BlobImmutableError(name, `The locked immutability policy of '${name}' can only be extended.`);
    }
    this.policies.set(key, { ...policy });
  }

  immutability(name: string, snapshot = ''): ImmutabilityPolicy | undefined {
    return this.policies.get(`${name}\n${snapshot}`);
  }

  private refuseIfProtected(name: string, snapshot: string): void {
    const p = this.policies.get(`${name}\n${snapshot}`);
    if (p && p.until.getTime() > this.clock())
      throw new BlobImmutableError(snapshot ? `${name}?snapshot=${snapshot}` : name, `'${name}' is protected by an immutability policy until ${p.until.toISOString()}.`);
  }

  /** Every blob name (page and block), for tests that check what a job left behind. */
  names(prefix = ''): string[] {
    return [...this.blobs.keys(), ...this.objects.keys()].filter((n) => n.startsWith(prefix)).sort();
  }

  snapshotCount(name: string): number {
    return this.blobs.get(name)?.snapshots.size ?? 0;
  }
}
