import type { VmInfo } from '../ports/compute';

/** Progress of one copy segment of a job: the fan-in and checkpoint row of backup copies and restores. */
export interface SegmentRow {
  jobId: string;
  segmentKey: string;
  state: 'Pending' | 'Done' | 'Cancelled';
  nextCell: number;
  stats: Record<string, number>;
  /** Set with Done since manifest format 2: the segment's manifest part is written; its cell count and lane sum. */
  part?: { cells: number; sum: string };
}

/** An idempotency key of a job-creating request. */
export interface RequestRecord {
  /** SHA-256 of the client's key: the key itself is the client's and is not stored. */
  keyHash: string;
  /** What the key was first used for (operation, target and parameters); a different request is refused. */
  fingerprint: string;
  jobId: string;
  createdAt: Date;
}

/** Which job a schedule slot of an item belongs to: the first tick to write it names the job. */
export interface SlotClaim {
  claimKey: string;
  jobId: string;
  createdAt: Date;
}

/** A VM as discovery last saw it, for the VMs page. */
export interface DiscoveredVm extends VmInfo {
  itemKey: string;
  discoveredAt: Date;
}

/** A named, expiring lease: one holder at a time until `expiresAt` (a holder that dies frees it by expiry). */
export interface Lease {
  name: string;
  holder: string;
  expiresAt: Date;
}

/** An alert event, once: its row key names the event, so raising it again finds the row (src/core/ops/alerts.ts). */
export interface AlertRecord {
  eventKey: string;
  type: string;
  text: string;
  itemKey?: string;
  jobId?: string;
  pointId?: string;
  /** Recorded: raised while no webhook is configured (counted in telemetry only). */
  state: 'Pending' | 'Sent' | 'GaveUp' | 'Recorded';
  attempts: number;
  createdAt: Date;
  /** A deliverer's claim, so two sweeps do not post the same alert at once; expires if that deliverer dies. */
  claimUntil?: Date;
  sentAt?: Date;
  lastError?: string;
  /** A soft-deleted point's alert stays open until the point is purged (the purge alert) or undeleted. */
  open?: boolean;
}
