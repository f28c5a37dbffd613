/** What the managed-disk data plane counts, read by tests and the bench through the emulator's stats. */
export interface DataPlaneStats {
  readRequests: number;
  readBytes: number;
  pageListRequests: number;
  putPageRequests: number;
  putPageBytes: number;
  /** Get Page Ranges answers cut with a NextMarker. */
  pageListCuts: number;
  /** Requests refused with 503 ServerBusy by the per-blob caps. */
  serverBusy: number;
  /** Requests answered 500 OperationTimedOut by the per-blob caps. */
  operationTimedOut: number;
  /** Requests held in the server's queue (answered late) by the per-blob caps. */
  delayedRequests: number;
  /**
   * Requests with a valid SAS, per disk (a snapshot counts to its source disk; ids lower-cased), by whether they
   * carried an `Authorization: Bearer` header: what a test reads to see a client send its Entra token every time.
   */
  bearerByDisk: Record<string, { withToken: number; withoutToken: number }>;
  /**
   * Requests on Entra-only grants by the RBAC data action Azure checks for them: a read of a disk or snapshot
   * SAS is `{disks|snapshots}/download/action`, a write `upload/action` ("Perform read/write data operations on
   * Disk/Snapshot SAS Uri": https://learn.microsoft.com/azure/role-based-access-control/permissions/compute#microsoftcompute).
   * A SAS-only grant checks no data action. What the roles test derives the template's dataActions from.
   */
  dataActions: Record<string, number>;
}

export function newDataPlaneStats(): DataPlaneStats {
  return {
    readRequests: 0,
    readBytes: 0,
    pageListRequests: 0,
    putPageRequests: 0,
    putPageBytes: 0,
    pageListCuts: 0,
    serverBusy: 0,
    operationTimedOut: 0,
    delayedRequests: 0,
    bearerByDisk: {},
    dataActions: {},
  };
}
