import type { BackupStore } from '../../src/core/ports/storage';
import { MAX_PUT_PAGE, PAGE, type Range } from '../../src/core/domain/ranges';
import { PageModel } from './page-model';

/**
 * A BackupStore in memory, for the engine's tests: shard page blobs as page maps, blob snapshots as frozen
 * copies, objects as buffers. It refuses what a page blob refuses (Put Page / Clear Pages: 512-byte aligned
 * offset and length, at most 4 MiB per Put Page, inside the blob's size; see
 * https://learn.microsoft.com/rest/api/storageservices/put-page), so an engine bug that Azure would surface fails
 * here too. test/unit/engine/copy-restore.test.ts runs the same cases on this store and on Azurite.
 */
export class MemoryBackupStore implements BackupStore {
  private readonly shards = new Map<string, PageModel>();
  private readonly snapshots = new Map<string, PageModel>();
  private readonly objects = new Map<string, Buffer>();
  private seq = 0;

  async ensureShard(name: string, size: number): Promise<void> {
    const shard = this.shards.get(name);
    if (!shard) return void this.shards.set(name, new PageModel(size));
    // Set Blob Properties with a smaller size drops the pages past the new end.
    if (size < shard.size) shard.clear(size, shard.size - size);
    shard.size = size;
  }

  async resetShard(name: string, size: number): Promise<void> {
    await this.ensureShard(name, size);
    this.shards.set(name, new PageModel(size));
  }

  async readShard(name: string, range: Range): Promise<Buffer> {
    return this.blob(name).read(range);
  }

  async putPages(name: string, offset: number, data: Buffer): Promise<void> {
    if (data.length > MAX_PUT_PAGE) throw new RangeError('Put Page over 4 MiB');
    const shard = this.blob(name);
    this.checkRange(shard, { start: offset, end: offset + data.length });
    shard.write(offset, data);
  }

  async clearPages(name: string, range: Range): Promise<void> {
    const shard = this.blob(name);
    this.checkRange(shard, range);
    shard.clear(range.start, range.end - range.start);
  }

  async snapshotShard(name: string): Promise<string> {
    const id = `snap-${++this.seq}`;
    this.snapshots.set(`${name}\n${id}`, this.blob(name).clone());
    return id;
  }

  async shardSnapshotRanges(name: string, snapshot: string, window: Range): Promise<Range[]> {
    return this.snapshot(name, snapshot).ranges(window);
  }

  async readShardSnapshot(name: string, snapshot: string, range: Range): Promise<Buffer> {
    return this.snapshot(name, snapshot).read(range);
  }

  async deleteShardSnapshot(name: string, snapshot: string): Promise<void> {
    this.snapshots.delete(`${name}\n${snapshot}`);
  }

  async putObject(name: string, data: Buffer): Promise<void> {
    this.objects.set(name, Buffer.from(data));
  }

  async getObject(name: string): Promise<Buffer | undefined> {
    return this.objects.get(name);
  }

  async deleteObject(name: string): Promise<void> {
    this.objects.delete(name);
  }

  async deletePrefix(prefix: string): Promise<void> {
    for (const m of [this.shards, this.objects]) for (const k of [...m.keys()]) if (k.startsWith(prefix)) m.delete(k);
    for (const k of [...this.snapshots.keys()]) if (k.startsWith(prefix)) this.snapshots.delete(k);
  }

  private blob(name: string): PageModel {
    const shard = this.shards.get(name);
    if (!shard) throw Object.assign(new Error(`BlobNotFound: ${name}`), { statusCode: 404 });
    return shard;
  }

  private snapshot(name: string, id: string): PageModel {
    const snap = this.snapshots.get(`${name}\n${id}`);
    if (!snap) throw Object.assign(new Error(`BlobNotFound: ${name}?snapshot=${id}`), { statusCode: 404 });
    return snap;
  }

  private checkRange(shard: PageModel, r: Range): void {
    if (r.start % PAGE !== 0 || r.end % PAGE !== 0) throw Object.assign(new Error('InvalidPageRange: not 512-byte aligned'), { statusCode: 416 });
    if (r.end > shard.size) throw Object.assign(new Error('InvalidPageRange: past the end of the blob'), { statusCode: 416 });
  }
}
