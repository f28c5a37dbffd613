import type { Deps } from '../../jobs/deps';
import type { DiskAccess, TargetDisk } from '../../ports/storage';

/**
 * The write side of an upload disk, granted on first use and renewed before it expires or when Storage
 * answers 403 (expired or revoked SAS), so a restore longer than the SAS lifetime goes on (AZURE-FIDELITY m10).
 * Renewal is a new grantAccess Write on the disk while it is in ActiveUpload, as the first grant was; whether
 * Azure then keeps the earlier SAS valid is not documented (I), so every caller moves to the newest one.
 */
export function renewingUploadTarget(deps: Deps, diskId: string, access: DiskAccess = {}): TargetDisk & { readonly grants: number } {
  let current: { target: TargetDisk; expiresAt: number } | undefined;
  let granting: Promise<void> | undefined;
  let grants = 0;
  const seconds = deps.config.sasDurationSeconds;
  // Ahead of expiry by a fifth of the lifetime, at most two minutes: enough for the puts in flight to land.
  const marginMs = Math.min(120, seconds / 5) * 1000;
  const grant = async (): Promise<void> => {
    const sas = await deps.compute.grantDiskWrite(diskId, seconds);
    grants++;
    current = { target: deps.dataPlane.openTarget(sas, access), expiresAt: deps.clock().getTime() + seconds * 1000 };
  };
  const fresh = async (): Promise<TargetDisk> => {
    while (!current || deps.clock().getTime() >= current.expiresAt - marginMs) {
      await (granting ??= grant().finally(() => {
        granting = undefined;
      }));
    }
    return current.target;
  };
  return {
    get grants() {
      return grants;
    },
    async putPages(offset: number, data: Buffer): Promise<void> {
      const t = await fresh();
      try {
        await t.putPages(offset, data);
      } catch (err) {
        if ((err as { statusCode?: number }).statusCode !== 403) throw err;
        if (current?.target === t) current = undefined;
        await (await fresh()).putPages(offset, data);
      }
    },
  };
}

/** How much one invocation may do before it checkpoints and queues its continuation (config stepBudget). */
export function invocationBudget(budget: { seconds: number; bytes: number }): (cellBytes: number) => boolean {
  const started = performance.now();
  let admitted = 0;
  return (cellBytes) => {
    // The first cell always runs, so every invocation moves forward.
    const over = performance.now() - started >= budget.seconds * 1000 || (budget.bytes > 0 && admitted + cellBytes > budget.bytes);
    if (admitted > 0 && over) return false;
    admitted += cellBytes;
    return true;
  };
}
