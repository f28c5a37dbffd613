import { createHash } from 'node:crypto';
import { AnonymousCredential, PageBlobClient, newPipeline } from '@azure/storage-blob';
import type { PipelinePolicy } from '@azure/core-rest-pipeline';
import { attachPolicy } from './attach-policy';
import type { DataPlane, RangeDiff, SourceSnapshot, TargetDisk } from '../../ports/storage';
import { MAX_PUT_PAGE, type Range } from '../../domain/ranges';
import { downloadRange } from './download';
import { listDiff, listValidRanges, pageListMarkerPolicy } from './page-list';

/**
 * Managed-disk data through SAS URLs (what grantAccess returns). The SDK's own retries are off: the engine
 * retries with back-off and lowers its concurrency on throttling, which it can only do if it sees the 503s.
 */
export class SasDataPlane implements DataPlane {
  constructor(private readonly policies: PipelinePolicy[] = []) {}

  private client(sasUrl: string, extra: PipelinePolicy[] = []): PageBlobClient {
    const client = new PageBlobClient(sasUrl, newPipeline(new AnonymousCredential(), { retryOptions: { maxTries: 1 } }));
    for (const p of [...extra, ...this.policies]) attachPolicy(client, p);
    return client;
  }

  openSource(sasUrl: string): SourceSnapshot {
    const blob = this.client(sasUrl);
    return {
      validRanges: (window: Range): Promise<Range[]> => listValidRanges(blob, window),
      diff: (window: Range, baseSasUrl: string): Promise<RangeDiff> => {
        // One client per listing: its marker policy carries this listing's continuation and no other's.
        const marker = pageListMarkerPolicy();
        return listDiff(this.client(sasUrl, [marker]), marker, window, baseSasUrl);
      },
      read: (range: Range): Promise<Buffer> => downloadRange(blob, range),
      readAll: (): Promise<Buffer> => blob.downloadToBuffer(),
    };
  }

  openTarget(sasUrl: string): TargetDisk {
    const blob = this.client(sasUrl);
    return {
      async putPages(offset: number, data: Buffer): Promise<void> {
        if (data.length > MAX_PUT_PAGE) throw new RangeError('Put Page over 4 MiB');
        const md5 = createHash('md5').update(data).digest();
        await blob.uploadPages(data, offset, data.length, { transactionalContentMD5: md5 });
      },
    };
  }
}
