import { createHash } from 'node:crypto';
import { AnonymousCredential, PageBlobClient, StorageBlobAudience, newPipeline } from '@azure/storage-blob';
import type { PipelinePolicy } from '@azure/core-rest-pipeline';
import type { AccessToken, TokenCredential } from '@azure/core-auth';
import { attachPolicy } from './attach-policy';
import type { DataPlane, DiskAccess, RangeDiff, SourceSnapshot, TargetDisk } from '../../ports/storage';
import { MAX_PUT_PAGE, type Range } from '../../domain/ranges';
import { downloadRange } from './download';
import { listDiff, listValidRanges, pageListMarkerPolicy } from './page-list';

/**
 * Managed-disk data through SAS URLs (what grantAccess returns). The SDK's own retries are off: the engine
 * retries with back-off and lowers its concurrency on throttling, which it can only do if it sees the 503s.
 * A disk with dataAccessAuthMode AzureActiveDirectory needs, besides the SAS, a bearer token of an identity with
 * "Data Operator for Managed Disks" for the disk audience (azure-compute-docs
 * articles/virtual-machines/disks-secure-upload-download.md; storage-blob StorageBlobAudience.DiskComputeOAuthScopes):
 * `diskCredential` is the app's identity for that.
 */
export class SasDataPlane implements DataPlane {
  readonly entraDataAccess: boolean;
  private readonly bearer?: PipelinePolicy;

  constructor(
    private readonly policies: PipelinePolicy[] = [],
    diskCredential?: TokenCredential,
  ) {
    this.entraDataAccess = !!diskCredential;
    this.bearer = diskCredential ? diskBearerPolicy(diskCredential) : undefined;
  }

  private client(sasUrl: string, extra: PipelinePolicy[] = [], access: DiskAccess = {}): PageBlobClient {
    const client = new PageBlobClient(sasUrl, newPipeline(new AnonymousCredential(), { retryOptions: { maxTries: 1 } }));
    if (access.entra) {
      if (!this.bearer) throw new Error('This disk needs an Entra ID token for data access, and the app has no identity configured for disk data.');
      extra = [...extra, this.bearer];
    }
    for (const p of [...extra, ...this.policies]) attachPolicy(client, p);
    return client;
  }

  openSource(sasUrl: string, access: DiskAccess = {}): SourceSnapshot {
    const blob = this.client(sasUrl, [], access);
    return {
      validRanges: (window: Range): Promise<Range[]> => listValidRanges(blob, window),
      diff: (window: Range, baseSasUrl: string): Promise<RangeDiff> => {
        // One client per listing: its marker policy carries this listing's continuation and no other's.
        const marker = pageListMarkerPolicy();
        return listDiff(this.client(sasUrl, [marker], access), marker, window, baseSasUrl);
      },
      read: (range: Range): Promise<Buffer> => downloadRange(blob, range),
      readAll: (): Promise<Buffer> => blob.downloadToBuffer(),
    };
  }

  openTarget(sasUrl: string, access: DiskAccess = {}): TargetDisk {
    const blob = this.client(sasUrl, [], access);
    return {
      async putPages(offset: number, data: Buffer): Promise<void> {
        if (data.length > MAX_PUT_PAGE) throw new RangeError('Put Page over 4 MiB');
        const md5 = createHash('md5').update(data).digest();
        await blob.uploadPages(data, offset, data.length, { transactionalContentMD5: md5 });
      },
    };
  }
}

/**
 * Adds `Authorization: Bearer` for the disk audience next to the SAS. The SDK's own audience option does the
 * same through its bearer policy, which refuses any URL that is not https; this one sends the token on whatever
 * URL the grant returned (https on Azure), so the local data plane over http is held to the same rule. The token
 * is kept until five minutes before it expires, as the SDK's policy refreshes it.
 */
export function diskBearerPolicy(credential: TokenCredential, scope: string = StorageBlobAudience.DiskComputeOAuthScopes): PipelinePolicy {
  let token: AccessToken | null = null;
  let pending: Promise<AccessToken | null> | undefined;
  const fresh = async (): Promise<string> => {
    if (!token || token.expiresOnTimestamp - Date.now() < 5 * 60_000) {
      token = await (pending ??= credential.getToken(scope).finally(() => {
        pending = undefined;
      }));
    }
    if (!token) throw new Error(`The app's identity returned no token for ${scope}.`);
    return token.token;
  };
  return {
    name: 'vmbackupDiskBearer',
    async sendRequest(request, next) {
      request.headers.set('authorization', `Bearer ${await fresh()}`);
      return next(request);
    },
  };
}
