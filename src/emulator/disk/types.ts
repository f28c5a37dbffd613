/**
 * The contract between the compute emulator's managed-disk data plane (HTTP, SAS) and its storage.
 * All offsets and lengths are bytes; ranges here are half-open [start, end) and page (512 B) aligned.
 * (The wire format's inclusive ends are converted at the HTTP edge, never here.)
 */
export const PAGE_SIZE = 512;

export interface ByteRange {
  start: number;
  end: number;
}

export interface RangeDiff {
  /** Pages written (with data) since the base, last operation per page wins. */
  changed: ByteRange[];
  /** Pages cleared (trimmed) since the base, last operation per page wins. */
  cleared: ByteRange[];
}

export type ResourceKind = 'disk' | 'snapshot';

export interface StoredResource {
  id: string;
  kind: ResourceKind;
  sizeBytes: number;
  /** For snapshots: the disk they were taken from (diff lineage). */
  sourceDiskId?: string;
  incremental?: boolean;
}

/**
 * Sparse, incremental page storage for emulated managed disks and their snapshots.
 * Memory is proportional to written data, never to nominal size (disks up to 32 TiB).
 * Errors are thrown as DiskStoreError with a stable code the HTTP layer maps to Azure's.
 */
export interface DiskStore {
  createDisk(id: string, sizeBytes: number): void;
  /** A new disk whose content is a copy of a disk or snapshot (Copy create option). */
  copyDisk(id: string, sourceId: string, sizeBytes?: number): void;
  resizeDisk(id: string, sizeBytes: number): void;
  deleteResource(id: string): void;
  get(id: string): StoredResource | undefined;

  /** Writes 512-aligned data at a 512-aligned offset of a disk. */
  write(diskId: string, offset: number, data: Buffer): void;
  /** Clears (trims) pages of a disk: they read back as zeros and are no longer valid ranges. */
  clear(diskId: string, offset: number, length: number): void;
  /** Reads any range of a disk or snapshot; unwritten space reads as zeros. */
  read(id: string, offset: number, length: number): Buffer;

  /** Point-in-time snapshot of a disk. Incremental ones keep only pages changed since the previous one. */
  createSnapshot(id: string, diskId: string, incremental: boolean): void;

  /** Written (valid) pages of a disk or snapshot inside [window.start, window.end), sorted and coalesced. */
  validRanges(id: string, window?: ByteRange): ByteRange[];
  /**
   * Pages that differ between snapshot `id` and the older snapshot `baseId` of the same disk, inside the window.
   * Stays correct when snapshots between the two have been deleted.
   */
  diff(id: string, baseId: string, window?: ByteRange): RangeDiff;

  /** Bytes actually held in memory for data pages (to prove sparseness). */
  storedBytes(): number;
}

export type DiskStoreErrorCode = 'NotFound' | 'AlreadyExists' | 'InvalidRange' | 'Unaligned' | 'NotADisk' | 'NotASnapshot' | 'DifferentLineage' | 'BaseNotOlder' | 'ShrinkNotAllowed';

export class DiskStoreError extends Error {
  constructor(
    readonly code: DiskStoreErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'DiskStoreError';
  }
}
