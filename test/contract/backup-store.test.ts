import { afterAll, describe, expect, inject, it } from 'vitest';
import { BlobServiceClient } from '@azure/storage-blob';
import { BlobBackupStore } from '../../src/core/adapters/azure/blob-backup-store';
import { attachPolicy } from '../../src/core/adapters/azure/attach-policy';
import { MemoryBackupStore } from '../../src/core/adapters/memory/backup-store';
import type { BackupStore } from '../../src/core/ports/storage';
import { coalesce } from '../../src/core/domain/ranges';
import { strictAzureLimitsPolicy } from '../../src/local/strict-limits';
import { uniqueName } from '../support/names';
import { pattern } from '../support/memory-fixtures';

const KIB = 1024,
  MIB = 1024 * KIB;

/**
 * One suite, every adapter: what a page blob must do for the backup (https://learn.microsoft.com/rest/api/storageservices/put-page,
 * .../get-page-ranges, .../snapshot-blob, .../delete-blob). Azurite runs with the strict Azure-limits policy the
 * app's tests use, since Azurite itself accepts misaligned and oversized Put Page requests.
 */
function backupStoreContract(name: string, make: () => Promise<BackupStore>): void {
  describe(`BackupStore contract: ${name}`, () => {
    it('creates, resizes and reads shards; unwritten space reads as zeros', async () => {
      const s = await make();
      await s.ensureShard('a/shard-0', 2 * MIB);
      await s.ensureShard('a/shard-0', 2 * MIB); // idempotent
      expect((await s.readShard('a/shard-0', { start: 0, end: 4 * KIB })).equals(Buffer.alloc(4 * KIB))).toBe(true);
      await s.putPages('a/shard-0', 512, pattern(1024, 1));
      expect((await s.readShard('a/shard-0', { start: 0, end: 2048 })).equals(Buffer.concat([Buffer.alloc(512), pattern(1024, 1), Buffer.alloc(512)]))).toBe(true);
      await s.ensureShard('a/shard-0', 4 * MIB); // grows, keeping the pages
      expect((await s.readShard('a/shard-0', { start: 512, end: 1536 })).equals(pattern(1024, 1))).toBe(true);
      expect((await s.readShard('a/shard-0', { start: 3 * MIB, end: 4 * MIB })).equals(Buffer.alloc(MIB))).toBe(true);
    });

    it('refuses what Azure refuses: misaligned pages, Put Page over 4 MiB, writes and reads past the end, unaligned sizes', async () => {
      const s = await make();
      await s.ensureShard('b/shard-0', 8 * MIB);
      await expect(s.putPages('b/shard-0', 100, pattern(512, 1))).rejects.toThrow();
      await expect(s.putPages('b/shard-0', 0, pattern(700, 1))).rejects.toThrow();
      await expect(s.putPages('b/shard-0', 0, pattern(4 * MIB + 512, 1))).rejects.toThrow();
      await expect(s.putPages('b/shard-0', 8 * MIB - 512, pattern(1024, 1))).rejects.toThrow();
      await expect(s.clearPages('b/shard-0', { start: 10, end: 522 })).rejects.toThrow();
      await expect(s.ensureShard('b/odd', 1000)).rejects.toThrow();
      await expect(s.readShard('b/shard-0', { start: 8 * MIB, end: 8 * MIB + 512 })).rejects.toThrow();
      await s.putPages('b/shard-0', 4 * MIB, pattern(4 * MIB, 2)); // exactly 4 MiB is fine
    });

    it('keeps each blob snapshot as it was: later writes, clears and a reset change only the live blob', async () => {
      const s = await make();
      await s.ensureShard('c/shard-0', 4 * MIB);
      await s.putPages('c/shard-0', 0, pattern(64 * KIB, 1));
      await s.putPages('c/shard-0', 2 * MIB, pattern(512, 2));
      const s1 = await s.snapshotShard('c/shard-0');
      await s.putPages('c/shard-0', 0, pattern(4 * KIB, 3));
      await s.clearPages('c/shard-0', { start: 2 * MIB, end: 2 * MIB + 512 });
      const s2 = await s.snapshotShard('c/shard-0');
      expect(s2).not.toBe(s1);
      const all = { start: 0, end: 4 * MIB };
      // Azure may list touching ranges separately (Azurite does): compare the pages, not the listing's cuts.
      expect(coalesce(await s.shardSnapshotRanges('c/shard-0', s1, all))).toEqual([
        { start: 0, end: 64 * KIB },
        { start: 2 * MIB, end: 2 * MIB + 512 },
      ]);
      expect(coalesce(await s.shardSnapshotRanges('c/shard-0', s2, all))).toEqual([{ start: 0, end: 64 * KIB }]);
      expect(coalesce(await s.shardSnapshotRanges('c/shard-0', s1, { start: MIB, end: 4 * MIB }))).toEqual([{ start: 2 * MIB, end: 2 * MIB + 512 }]);
      expect((await s.readShardSnapshot('c/shard-0', s1, { start: 0, end: 4 * KIB })).equals(pattern(4 * KIB, 1))).toBe(true);
      expect((await s.readShardSnapshot('c/shard-0', s2, { start: 0, end: 4 * KIB })).equals(pattern(4 * KIB, 3))).toBe(true);
      await s.resetShard('c/shard-0', 4 * MIB);
      expect((await s.readShard('c/shard-0', { start: 0, end: 4 * KIB })).equals(Buffer.alloc(4 * KIB))).toBe(true);
      expect((await s.readShardSnapshot('c/shard-0', s1, { start: 2 * MIB, end: 2 * MIB + 512 })).equals(pattern(512, 2))).toBe(true);
      await s.deleteShardSnapshot('c/shard-0', s1);
      await s.deleteShardSnapshot('c/shard-0', s1); // gone already: fine
      await expect(s.readShardSnapshot('c/shard-0', s1, { start: 0, end: 512 })).rejects.toMatchObject({ statusCode: 404 });
      expect((await s.readShardSnapshot('c/shard-0', s2, { start: 0, end: 512 })).equals(pattern(512, 3))).toBe(true);
    });

    it('stores small objects and deletes a prefix with the shards and snapshots under it, nothing else', async () => {
      const s = await make();
      await s.putObject('d/work/job1/seg-0', Buffer.from('checkpoint'));
      await s.putObject('d/manifest', Buffer.from('keep'));
      await s.ensureShard('d/work/job1/shard', MIB);
      await s.putPages('d/work/job1/shard', 0, pattern(512, 1));
      const snap = await s.snapshotShard('d/work/job1/shard');
      expect((await s.getObject('d/work/job1/seg-0'))!.toString()).toBe('checkpoint');
      expect(await s.getObject('d/missing')).toBeUndefined();
      await s.deletePrefix('d/work/job1/');
      expect(await s.getObject('d/work/job1/seg-0')).toBeUndefined();
      await expect(s.readShardSnapshot('d/work/job1/shard', snap, { start: 0, end: 512 })).rejects.toMatchObject({ statusCode: 404 });
      expect((await s.getObject('d/manifest'))!.toString()).toBe('keep');
      await s.deleteObject('d/manifest');
      await s.deleteObject('d/manifest');
      expect(await s.getObject('d/manifest')).toBeUndefined();
    });
  });
}

backupStoreContract('memory', async () => new MemoryBackupStore());

const containers: string[] = [];
const service = (): BlobServiceClient => {
  const svc = BlobServiceClient.fromConnectionString(inject('azurite').connectionString);
  attachPolicy(svc, strictAzureLimitsPolicy());
  return svc;
};
backupStoreContract('Azure Blob Storage (Azurite, strict limits)', async () => {
  const name = uniqueName('contract');
  containers.push(name);
  const store = new BlobBackupStore(service().getContainerClient(name));
  await store.ensureContainer();
  return store;
});
afterAll(async () => {
  const svc = service();
  await Promise.all(containers.map((c) => svc.getContainerClient(c).deleteIfExists()));
});
