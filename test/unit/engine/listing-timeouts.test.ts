import { beforeAll, describe, expect, inject, it } from 'vitest';
import { BlobServiceClient } from '@azure/storage-blob';
import { RestError, createHttpHeaders, createPipelineRequest } from '@azure/core-rest-pipeline';
import { BlobBackupStore } from '../../../src/core/adapters/azure/blob-backup-store';
import { copySegment } from '../../../src/core/engine/copy-segment';
import { restoreDisk } from '../../../src/core/engine/restore-disk';
import { classify } from '../../../src/core/engine/pacer';
import { applyDeltas } from '../../../src/core/engine/manifest';
import { MIB } from '../../../src/core/engine/shards';
import type { BackupStore } from '../../../src/core/ports/storage';
import { PageModel, sourceOf, modelTarget } from '../../support/page-model';
import { uniqueName } from '../../support/names';

// A blob past its targets answers 500 OperationTimedOut as well as 503 ServerBusy
// (https://learn.microsoft.com/rest/api/storageservices/blob-service-error-codes, includes/storage-blob-scale-targets.md);
// a large fragmented page blob's Get Page Ranges can time out and is to be listed in subsets
// (https://docs.microsoft.com/archive/blogs/windowsazurestorage/getting-the-page-ranges-of-a-large-page-blob-in-segments).

function storageError(status: number, code: string): RestError {
  const request = createPipelineRequest({ url: 'https://account.blob.core.windows.net/c/b' });
  return new RestError(code, { statusCode: status, code, request, response: { status, request, headers: createHttpHeaders({ 'x-ms-error-code': code }) } });
}

describe('listing timeouts and 500 OperationTimedOut (AZURE-FIDELITY B1, M2, m4)', () => {
  let store: BlobBackupStore;
  beforeAll(async () => {
    const container = BlobServiceClient.fromConnectionString(inject('azurite').connectionString).getContainerClient(uniqueName('lst'));
    store = new BlobBackupStore(container);
    await store.ensureContainer();
  });

  it('the pacer backs off on 500 OperationTimedOut as on 503, and not on other 500s', () => {
    expect(classify(storageError(500, 'OperationTimedOut'))).toMatchObject({ retryable: true, throttled: true });
    expect(classify(storageError(503, 'ServerBusy'))).toMatchObject({ retryable: true, throttled: true });
    expect(classify(storageError(500, 'InternalError'))).toMatchObject({ retryable: true, throttled: false });
  });

  it('a restore (and so a verify) lists a window that keeps timing out again in halves', async () => {
    const size = 256 * MIB;
    const disk = new PageModel(size);
    for (let i = 0; i < 8; i++) disk.write(i * 31 * MIB + 4096, Buffer.alloc(8192, i + 1));
    const name = `${uniqueName('split')}/shard-0`;
    await store.ensureShard(name, size);
    const { delta } = await copySegment(
      { segment: { start: 0, end: size }, diskSize: size, shardSize: size, shardName: () => name, concurrency: 2, diffWindow: 64 * MIB },
      { source: sourceOf(disk, new Map()), store },
    );
    const snapshot = await store.snapshotShard(name);
    // Windows over 64 MiB always time out on this blob; the store is the real one otherwise (a port wrapper).
    const asked: number[] = [];
    const timingOut: BackupStore = Object.assign(Object.create(store) as BackupStore, {
      shardSnapshotRanges: async (n: string, s: string, w: { start: number; end: number }) => {
        asked.push(w.end - w.start);
        if (w.end - w.start > 64 * MIB) throw storageError(500, 'OperationTimedOut');
        return store.shardSnapshotRanges(n, s, w);
      },
    });
    const target = new PageModel(size);
    await restoreDisk(
      {
        diskSize: size,
        shardSize: size,
        shards: [{ name, snapshot }],
        manifest: applyDeltas(undefined, size, [delta]),
        concurrency: 2,
        rangeWindow: size,
        retry: { maxAttempts: 2, baseDelayMs: 1, maxDelayMs: 1 },
      },
      timingOut,
      modelTarget(target),
    );
    expect(target.equals(disk)).toBe(true);
    expect(asked.filter((n) => n <= 64 * MIB)).toEqual([64, 64, 64, 64].map((n) => n * MIB));
  });
});
