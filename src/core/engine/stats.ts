/** Counts, not times: what the efficiency tests and the benchmarks compare. */
export interface CopyStats {
  changedBytes: number;
  sourceBytesRead: number;
  sourceReads: number;
  rangeRequests: number;
  bytesUploaded: number;
  putRequests: number;
  clearRequests: number;
  zeroBytesSkipped: number;
  backupBytesRead: number;
  /** Reads of old bytes from the previous recovery point. */
  backupReads: number;
  /** Cells the cost model copied whole although only fragments changed, and the unchanged bytes that read. */
  wholeCells: number;
  wholeCellExtraBytes: number;
  cellsPlanned: number;
  cellsDone: number;
  throttled: number;
  sasRenewals: number;
}

export function newCopyStats(): CopyStats {
  return {
    changedBytes: 0,
    sourceBytesRead: 0,
    sourceReads: 0,
    rangeRequests: 0,
    bytesUploaded: 0,
    putRequests: 0,
    clearRequests: 0,
    zeroBytesSkipped: 0,
    backupBytesRead: 0,
    backupReads: 0,
    wholeCells: 0,
    wholeCellExtraBytes: 0,
    cellsPlanned: 0,
    cellsDone: 0,
    throttled: 0,
    sasRenewals: 0,
  };
}

export function addStats(a: CopyStats, b: Partial<CopyStats>): CopyStats {
  const out = { ...a };
  for (const k of Object.keys(out) as (keyof CopyStats)[]) out[k] += b[k] ?? 0;
  return out;
}

export class CancelledError extends Error {
  constructor() {
    super('The job was cancelled.');
    this.name = 'CancelledError';
  }
}
