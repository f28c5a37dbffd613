import type { Job } from '../../domain/model';
import { HOUR_MS, MINUTE_MS } from '../../domain/time';
import type { Deps } from '../../jobs/deps';
import { updateJob } from '../../jobs/jobs';
import { paramsOf } from '../../jobs/params';
import { mountParamsSchema, type MountParams } from './params';
export type { MountParams } from './params';

/**
 * File recovery: a recovery point's disks, made by a child restore job (from the source snapshots while they
 * exist, else from the vault), attached to a helper VM the caller names, read-only cached, and detached and
 * deleted at the caller's deadline (the reconciler's sweep) or on unmount. The mount is its job: the job ends
 * Completed once the disks are attached; `result.mount` carries the mount's own state from then on.
 */
export const MOUNT_QUEUES = { mount: 'vmb-mount', unmount: 'vmb-unmount' } as const;

export const DEFAULT_MOUNT_MINUTES = 60;
/** Seven days: a mount is for reading files, not a second copy of the VM living on in the helper's resource group. */
export const MAX_MOUNT_MINUTES = (7 * 24 * HOUR_MS) / MINUTE_MS;

export type MountState = 'Mounting' | 'Mounted' | 'Unmounting' | 'Unmounted';
export type UnmountReason = 'Requested' | 'Expired' | 'Failed' | 'Cancelled';

/** One disk of the point as the helper VM sees it. */
export interface MountedDisk {
  diskKey: string;
  /** The source disk's name in the point. */
  sourceName: string;
  /** The disk the child restore made (deleted on unmount). */
  diskId: string;
  lun: number;
  caching: 'ReadOnly' | 'None';
  sizeBytes: number;
  osDisk: boolean;
}

export interface MountRecord {
  helperVmId: string;
  state: MountState;
  /** The restore job that makes the disks (newDisks, source auto). */
  restoreJobId?: string;
  /** Fixed before the attach (LUNs chosen on a fresh read of the VM), so a crash after it knows what to detach. */
  disks?: MountedDisk[];
  mountedAt?: string;
  expiresAt?: string;
  unmountedAt?: string;
  unmountReason?: UnmountReason;
}

export function mountParams(job: Job): MountParams {
  return paramsOf(job, mountParamsSchema);
}

export function mountOf(job: Job): MountRecord {
  return (job.result.mount as MountRecord | undefined) ?? { helperVmId: mountParams(job).helperVmId, state: 'Mounting' };
}

/** Read-modify-write of the mount record (ETag-guarded like every job update); `change` returns false to skip. */
export async function updateMount(deps: Deps, jobId: string, change: (m: MountRecord, j: Job) => boolean | void): Promise<Job> {
  return updateJob(deps, jobId, (j) => {
    const m = { ...mountOf(j) };
    if (change(m, j) === false) return false;
    j.result = { ...j.result, mount: m };
  });
}

/** The idempotency key of the child restore: a redelivered mount step finds the same restore job. */
export const childRestoreKey = (mountJobId: string): string => `mount-${mountJobId}`;
