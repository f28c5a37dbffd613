export type OsType = 'Linux' | 'Windows';

export type Consistency = 'ApplicationConsistent' | 'FileSystemConsistent' | 'CrashConsistent';

export type ProtectionState = 'Registered' | 'ProtectionPending' | 'Protected' | 'ProtectionStopped' | 'ProtectionStoppedDataDeleted';

/** One disk of a protected VM with what the next backup needs: the diff base and the previous image. */
export interface ProtectedDisk {
  diskKey: string;
  diskId: string;
  name: string;
  lun: number;
  sizeBytes: number;
  sku?: string;
  /** Source snapshot the next incremental diffs against. */
  baseSnapshotId?: string;
  baseSizeBytes?: number;
  /** Manifest blob of the last recovery point (the shards' current image). */
  lastManifest?: string;
  /** The shard size of this disk's backup blobs: kept for the disk's lifetime, whatever the setting says later. */
  shardSize?: number;
}

export interface ProtectedItem {
  itemKey: string;
  vmId: string;
  vmName: string;
  resourceGroup: string;
  subscriptionId: string;
  location: string;
  osType: OsType;
  state: ProtectionState;
  policyName?: string;
  disks: ProtectedDisk[];
  lockOwner?: string;
  lockExpiresAt?: Date;
  lastBackupAt?: Date;
  lastRecoveryPointId?: string;
  createdAt: Date;
  /** When the item last got a policy (register with one, or configure protection): its first slot is after it. */
  protectedAt?: Date;
  /** Set by the export of a first backup: the scheduler waits for its import instead of copying everything. */
  seed?: { exportJobId: string; exportedAt: string };
  /** The Register job that made this item: a second delivery of that job finds its own work done. */
  registeredBy?: string;
}

/** Every kind of job the app creates; each has one folder under workflows/ and one entry in workflows/kinds.ts. */
export const JOB_TYPES = ['Backup', 'Restore', 'Register', 'ConfigureProtection', 'Export', 'Import', 'Verify', 'Mount', 'Discovery'] as const;
export type JobType = (typeof JOB_TYPES)[number];
export type JobStatus = 'Queued' | 'InProgress' | 'Completed' | 'CompletedWithWarnings' | 'Failed' | 'Cancelling' | 'Cancelled';
export const TERMINAL: ReadonlySet<JobStatus> = new Set(['Completed', 'CompletedWithWarnings', 'Failed', 'Cancelled']);

export interface JobError {
  code: string;
  message: string;
  recommendedAction: string;
}

/** Per-disk plan of a backup job, fixed by the snapshot step. */
export interface BackupDiskPlan {
  diskKey: string;
  diskId: string;
  name: string;
  lun: number;
  sizeBytes: number;
  snapshotId: string;
  baseSnapshotId?: string;
  full: boolean;
  /** Why a disk that had backups before is copied whole this time. */
  fullReason?: string;
  segments: number;
  /** The segment size the job cut this disk with (one manifest part per segment); older jobs: the config's. */
  segmentSize?: number;
  shardSize: number;
  /** Filled by finalize: the blob snapshot of each shard. */
  shardSnapshots?: string[];
  manifest?: string;
  /** The snapshot's background copy (Premium SSD v2, Ultra) had not finished when last looked at. */
  copyPending?: boolean;
  /** 4096 for VHDX snapshots (Premium SSD v2, Ultra), which are granted with fileFormat VHDX. */
  logicalSectorSize?: number;
  /** The disk's dataAccessAuthMode is AzureActiveDirectory: its snapshot is read with an Entra token as well as the SAS. */
  entraDataAccess?: boolean;
}

/** A lease on a job row (planning a backup, running or finishing a restore): one delivery of a step works at a time. */
export type JobLease = 'planner' | 'runner' | 'finisher';
export interface JobLeaseHold {
  holder: string;
  /** Epoch milliseconds: a holder that died frees the lease by then. */
  until: number;
}

export interface Job {
  jobId: string;
  type: JobType;
  status: JobStatus;
  itemKey?: string;
  trigger?: 'Scheduled' | 'OnDemand' | 'Api';
  createdAt: Date;
  startedAt?: Date;
  endedAt?: Date;
  phase?: string;
  cancelRequested?: boolean;
  bytesTotal: number;
  bytesDone: number;
  segmentsTotal: number;
  segmentsDone: number;
  error?: JobError;
  warnings: string[];
  /** Type-specific input (restore mode and targets, backup retention override...). */
  params: Record<string, unknown>;
  /** Type-specific outcome (recovery point id, restored disk ids...). */
  result: Record<string, unknown>;
  /** Bookkeeping of the step runtime, kept out of params (stored in its own column; the API does not show it). */
  leases?: Partial<Record<JobLease, JobLeaseHold>>;
  plan?: BackupDiskPlan[];
  consistency?: Consistency;
  /** The disks of the backup form one write-order-consistent set (one disk, or the guest held quiesced across all). */
  disksConsistentSet?: boolean;
}

/**
 * What Azure needs to create a restored disk that boots and attaches where the source did, recorded per disk at
 * backup (AZURE-FIDELITY B4, M6; DiskRP 2025-01-02 disk.json DiskProperties). The VM-side settings (caching,
 * write accelerator, LUN) belong to the attachment, not the disk, and are kept for a swap or a new VM.
 */
export interface DiskRestoreProfile {
  sku?: string;
  zones?: string[];
  osType?: OsType;
  hyperVGeneration?: 'V1' | 'V2';
  /** 512 or 4096 (creationData.logicalSectorSize; Ultra and Premium SSD v2 only). */
  logicalSectorSize?: number;
  architecture?: string;
  securityType?: string;
  diskEncryptionSetId?: string;
  encryptionType?: string;
  networkAccessPolicy?: string;
  diskAccessId?: string;
  /** AzureActiveDirectory: export and upload need an Entra token as well as the SAS (disks-secure-upload-download.md). */
  dataAccessAuthMode?: string;
  maxShares?: number;
  tags?: Record<string, string>;
  lun: number;
  caching?: string;
  writeAcceleratorEnabled?: boolean;
  /** What Azure does with the disk when its VM is deleted (Delete or Detach): a new VM attaches it the same way. */
  deleteOption?: string;
}

export interface RecoveryPointDisk {
  diskKey: string;
  name: string;
  lun: number;
  sizeBytes: number;
  shardSize: number;
  shards: { name: string; snapshot: string }[];
  manifest: string;
  digest: string;
  changedBytes: number;
  bytesUploaded: number;
  sourceSnapshotId: string;
  sku?: string;
  /** Recorded by backups since restore profiles exist; older points restore with Azure's defaults. */
  profile?: DiskRestoreProfile;
  /** The VM guest state of a Trusted Launch disk, kept with the point (absent: a point from before it was kept). */
  guestState?: GuestStateCopy;
}

/** A copy of a disk's VM guest state in the backup storage: the blob, its bytes and their SHA-256 (hex). */
export interface GuestStateCopy {
  blob: string;
  sizeBytes: number;
  sha256: string;
}

export type RecoveryPointState = 'Available' | 'SoftDeleted' | 'Corrupt';

export interface RecoveryPoint {
  itemKey: string;
  pointId: string;
  createdAt: Date;
  consistency: Consistency;
  disks: RecoveryPointDisk[];
  expiresAt?: Date;
  state: RecoveryPointState;
  deletedAt?: Date;
  jobId: string;
  verifiedAt?: Date;
  /** The immutability policy set on the point's shard snapshots and manifests (workflows/protection/immutability.ts). */
  immutableUntil?: Date;
  immutabilityMode?: 'Unlocked' | 'Locked';
  /** See Job.disksConsistentSet; absent on points from before it was recorded. */
  disksConsistentSet?: boolean;
}
