import { MAX_PUT_PAGE, type Range } from '../../domain/ranges';
import type { DataPlane, RangeDiff, SourceSnapshot, TargetDisk } from '../../ports/storage';
import type { MemoryCloud, CloudDisk, CloudSnapshot } from './cloud';
import { MemoryServiceError } from './pages';

/**
 * Managed-disk data behind the SAS URLs a MemoryCloud grants. Every call checks the grant again, so a revoked
 * or expired SAS answers 403 mid-copy as Azure does (the engine renews it). Diffs follow Get Page Ranges with
 * x-ms-previous-snapshot-url (https://learn.microsoft.com/rest/api/storageservices/get-page-ranges): the base
 * must be an older incremental snapshot of the same disk.
 */
export class MemoryDataPlane implements DataPlane {
  /** The memory cloud checks SAS grants only; Entra-only disks are refused at registration here unless a test says so. */
  constructor(
    readonly cloud: MemoryCloud,
    readonly entraDataAccess = false,
  ) {}

  private resource(sasUrl: string, needWrite: boolean): CloudDisk | CloudSnapshot {
    const g = this.cloud.resolveSas(sasUrl, needWrite);
    // A securityDataAccessSAS names the VM guest state beside its disk or snapshot.
    const guest = /\/guestState$/.test(g.resourceId);
    const owner = guest ? g.resourceId.slice(0, -'/guestState'.length) : g.resourceId;
    const found = this.cloud.disk(owner) ?? this.cloud.snapshot(owner);
    const r = guest && found ? (found.guestState ? { ...found, content: found.guestState } : undefined) : found;
    if (!r) throw new MemoryServiceError(404, 'BlobNotFound', 'The specified blob does not exist.');
    return r;
  }

  openSource(sasUrl: string): SourceSnapshot {
    const cloud = this.cloud;
    const src = (): CloudDisk | CloudSnapshot => this.resource(sasUrl, false);
    return {
      async validRanges(window: Range): Promise<Range[]> {
        return src().content.validRanges(window);
      },
      async diff(window: Range, baseSasUrl: string): Promise<RangeDiff> {
        const s = src();
        let baseGrant;
        try {
          baseGrant = cloud.resolveSas(baseSasUrl, false);
        } catch {
          throw new MemoryServiceError(403, 'CannotVerifyCopySource', 'The previous snapshot URL is not a valid, current SAS of a snapshot.');
        }
        const base = cloud.snapshot(baseGrant.resourceId);
        if (!base) throw new MemoryServiceError(404, 'PreviousSnapshotNotFound', 'The previous snapshot does not exist.');
        if (!('seq' in s) || s.sourceDiskId.toLowerCase() !== base.sourceDiskId.toLowerCase() || base.seq >= s.seq) {
          throw new MemoryServiceError(409, 'PreviousSnapshotOperationNotSupported', 'The previous snapshot must be an older incremental snapshot of the same disk.');
        }
        return s.content.diff(base.content, window);
      },
      async read(range: Range): Promise<Buffer> {
        return src().content.read(range);
      },
      async readAll(): Promise<Buffer> {
        const c = src().content;
        return c.read({ start: 0, end: c.size });
      },
    };
  }

  openTarget(sasUrl: string): TargetDisk {
    return {
      putPages: async (offset: number, data: Buffer): Promise<void> => {
        if (data.length > MAX_PUT_PAGE) throw new RangeError('Put Page over 4 MiB');
        const d = this.resource(sasUrl, true);
        if ('seq' in d || d.state !== 'ActiveUpload') throw new MemoryServiceError(409, 'OperationNotAllowed', 'Pages can only be written to a disk in upload state.');
        d.content.write(offset, data);
      },
    };
  }
}
