import type { Range } from '../domain/ranges';

export interface RangeDiff {
  changed: Range[];
  cleared: Range[];
}

/** Read access to a source managed-disk snapshot through its SAS URL. */
export interface SourceSnapshot {
  validRanges(window: Range): Promise<Range[]>;
  /** Pages that differ from an older incremental snapshot of the same disk (given by its SAS URL). */
  diff(window: Range, baseSasUrl: string): Promise<RangeDiff>;
  read(range: Range): Promise<Buffer>;
  /** The whole blob in one read: for small ones such as a VM guest state, whose size only the blob knows. */
  readAll(): Promise<Buffer>;
}

/** Write access to a restore target disk in upload state through its write SAS URL. */
export interface TargetDisk {
  putPages(offset: number, data: Buffer): Promise<void>;
}

/**
 * How a disk's data is reached besides its SAS: `entra` for a disk or snapshot with dataAccessAuthMode
 * AzureActiveDirectory, whose export and upload also need an Entra token for the disk audience
 * (azure-compute-docs articles/virtual-machines/disks-secure-upload-download.md).
 */
export interface DiskAccess {
  entra?: boolean;
}

export interface DataPlane {
  /** Whether this data plane holds an identity to send Entra tokens with (without one, such disks are refused). */
  readonly entraDataAccess: boolean;
  openSource(sasUrl: string, access?: DiskAccess): SourceSnapshot;
  openTarget(sasUrl: string, access?: DiskAccess): TargetDisk;
}

/** A version-level immutability policy (time-based retention) on one blob, or one blob snapshot. */
export interface ImmutabilityPolicy {
  until: Date;
  mode: 'Unlocked' | 'Locked';
}

/**
 * What the store refused because an immutability policy protects the blob (Azure: 409 BlobImmutableDueToPolicy,
 * https://learn.microsoft.com/rest/api/storageservices/blob-service-error-codes): retention leaves such a point
 * for a later run instead of failing.
 */
export class BlobImmutableError extends Error {
  constructor(
    readonly blob: string,
    message: string,
  ) {
    super(message);
    this.name = 'BlobImmutableError';
  }
}

/**
 * The backup account: shard page blobs (whose blob snapshots are the recovery points' vault copies) and small
 * objects (manifests, checkpoints) as block blobs. Names are blob names inside the backup container.
 */
export interface BackupStore {
  /** Creates the shard page blob, or resizes it if it exists with another size. */
  ensureShard(name: string, size: number): Promise<void>;
  /** Empties a shard (for a full copy over an old image) while keeping its snapshots. */
  resetShard(name: string, size: number): Promise<void>;
  readShard(name: string, range: Range): Promise<Buffer>;
  putPages(name: string, offset: number, data: Buffer): Promise<void>;
  clearPages(name: string, range: Range): Promise<void>;
  /** Takes a blob snapshot and returns its id. */
  snapshotShard(name: string): Promise<string>;
  shardSnapshotRanges(name: string, snapshot: string, window: Range): Promise<Range[]>;
  readShardSnapshot(name: string, snapshot: string, range: Range): Promise<Buffer>;
  deleteShardSnapshot(name: string, snapshot: string): Promise<void>;
  putObject(name: string, data: Buffer): Promise<void>;
  getObject(name: string): Promise<Buffer | undefined>;
  deleteObject(name: string): Promise<void>;
  deletePrefix(prefix: string): Promise<void>;
  /**
   * Sets (or moves) the immutability policy of a block blob, or of a shard's snapshot when `snapshot` is given.
   * An unlocked policy may move either way; a locked one only later (BlobImmutableError otherwise).
   */
  setImmutability(name: string, snapshot: string | undefined, policy: ImmutabilityPolicy): Promise<void>;
}
