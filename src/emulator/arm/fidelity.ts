/**
 * How strictly the emulator answers as Azure's Microsoft.Compute does. Every behaviour is on by default; a test
 * that needs another value passes plain numbers or flags (the emulator knows nothing of the product's settings).
 *
 * Compressed time: Azure durations are divided by `timeScale` (local = Azure / timeScale). The default 1000 keeps
 * the suite fast: Run Command's 20 s minimum is 20 ms locally, a 10-minute background copy is 600 ms. The token
 * buckets refill `timeScale` times faster, so a local second holds as many requests as `timeScale` Azure seconds.
 */
export interface ArmFidelityOptions {
  /** Local duration = Azure duration / timeScale. Default 1000. */
  timeScale: number;
  /**
   * Minimum duration of one Run Command. "The minimum time to run a script is about 20 seconds"
   * (azure-compute-docs articles/virtual-machines/linux/run-command.md, Restrictions). Default 20 s / timeScale.
   */
  runCommandMinMs: number;
  /**
   * Background copy of an incremental snapshot of a PremiumV2_LRS or UltraSSD_LRS disk, until completionPercent
   * reaches 100 (disks-incremental-snapshots.md). Azure gives no fixed time ("can take hours"); 10 min / timeScale.
   */
  snapshotCopyMs: number;
  /** At most this many pending background copies per disk (incremental-snapshots-restrictions include: 3). */
  maxPendingSnapshotCopiesPerDisk: number;
  /** Resource-group segments of returned ids upper-cased, as Compute does (Azure/azure-rest-api-specs#8068). */
  upperCaseResourceGroupInIds: boolean;
  /** SKU of a disk PUT without `sku` (see resources.ts for the source). */
  defaultDiskSku: string;
  /** ARM token buckets (request-limits-and-throttling.md); set `throttle: false` to turn them off. */
  throttle: false | ThrottleLimits;
}

export interface ThrottleLimits {
  /** Per subscription and principal, per operation type: bucket size and refill per Azure second. */
  reads: { bucket: number; refillPerSecond: number };
  writes: { bucket: number; refillPerSecond: number };
  deletes: { bucket: number; refillPerSecond: number };
  /** The subscription-wide limit over all principals is this multiple of the per-principal one (15x). */
  globalMultiplier: number;
}

/** request-limits-and-throttling.md, "Regional throttling and token bucket algorithm" (2024 architecture). */
export const ARM_THROTTLE_LIMITS: ThrottleLimits = {
  reads: { bucket: 250, refillPerSecond: 25 },
  writes: { bucket: 200, refillPerSecond: 10 },
  deletes: { bucket: 200, refillPerSecond: 10 },
  globalMultiplier: 15,
};

export const DEFAULT_TIME_SCALE = 1000;

export function resolveFidelity(o: Partial<ArmFidelityOptions> = {}): ArmFidelityOptions {
  const timeScale = o.timeScale ?? DEFAULT_TIME_SCALE;
  if (!(timeScale > 0)) throw new Error('timeScale must be a positive number');
  return {
    timeScale,
    runCommandMinMs: o.runCommandMinMs ?? 20_000 / timeScale,
    snapshotCopyMs: o.snapshotCopyMs ?? 600_000 / timeScale,
    maxPendingSnapshotCopiesPerDisk: o.maxPendingSnapshotCopiesPerDisk ?? 3,
    upperCaseResourceGroupInIds: o.upperCaseResourceGroupInIds ?? true,
    defaultDiskSku: o.defaultDiskSku ?? 'Standard_LRS',
    throttle: o.throttle === false ? false : { ...ARM_THROTTLE_LIMITS, ...(o.throttle ?? {}) },
  };
}

/** What the emulator refused or lost on purpose, for the soak's report. */
export interface ArmFidelityStats {
  throttled: number;
  runCommandsRefusedBusy: number;
  runCommandsNeverAnswered: number;
  snapshotsRefusedNotReady: number;
}

export const newArmFidelityStats = (): ArmFidelityStats => ({ throttled: 0, runCommandsRefusedBusy: 0, runCommandsNeverAnswered: 0, snapshotsRefusedNotReady: 0 });
