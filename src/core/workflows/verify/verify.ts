import type { Job, RecoveryPoint } from '../../domain/model';
import { CELL } from '../../domain/ranges';
import { decodeManifest, type DiskManifest } from '../../engine/manifest';
import { ManifestMismatchError, restoreDisk } from '../../engine/restore-disk';
import type { Deps } from '../../jobs/deps';
import { createJob, finishJob, getJob, isTerminal, updateJob } from '../../jobs/jobs';
import { getPoint } from '../restore/restore';

export const VERIFY_QUEUE = 'vmb-verify';
const PROGRESS_EVERY_MS = 1000;

export interface VerifyResult {
  pointId: string;
  state: 'Verified' | 'Corrupt';
  disks: { diskKey: string; ok: boolean; problem?: string }[];
}

/** Re-reads a recovery point's shard snapshots and checks every cell against its manifest. */
export async function verifyPoint(deps: Deps, itemKey: string, pointId: string, onProgress?: (done: number, total: number) => void): Promise<VerifyResult> {
  const point: RecoveryPoint = await getPoint(deps, itemKey, pointId);
  const manifests = new Map<string, DiskManifest | undefined>();
  for (const d of point.disks) {
    const buf = await deps.store.getObject(d.manifest);
    manifests.set(d.diskKey, buf ? decodeManifest(buf) : undefined);
  }
  const total = [...manifests.values()].reduce((n, m) => n + (m?.cells.size ?? 0) * CELL, 0);
  const disks: VerifyResult['disks'] = [];
  let before = 0;
  for (const d of point.disks) {
    const manifest = manifests.get(d.diskKey);
    if (!manifest) {
      disks.push({ diskKey: d.diskKey, ok: false, problem: 'manifest missing' });
      continue;
    }
    let read = 0;
    try {
      await restoreDisk(
        { diskSize: d.sizeBytes, shardSize: d.shardSize, shards: d.shards, manifest, concurrency: deps.config.copy.concurrency, rangeWindow: deps.config.copy.diffWindow },
        deps.store,
        { putPages: async () => {} }, // reading and hashing is the check; nothing is written
        { onProgress: (s) => onProgress?.(Math.min(total, before + (read = s.bytesRead)), total) },
      );
      disks.push({ diskKey: d.diskKey, ok: true });
    } catch (err) {
      if (!(err instanceof ManifestMismatchError)) throw err;
      disks.push({ diskKey: d.diskKey, ok: false, problem: `${err.cells.length} cell(s) differ from the manifest` });
    }
    before += read;
  }
  const ok = disks.every((d) => d.ok);
  await deps.repos.points.update(itemKey, pointId, (x) => {
    if (ok) x.verifiedAt = deps.clock();
    else x.state = 'Corrupt';
  });
  return { pointId, state: ok ? 'Verified' : 'Corrupt', disks };
}

/**
 * Verify runs as a job, not inside the HTTP call: Azure answers an HTTP trigger for at most 230 seconds
 * (MicrosoftDocs azure-docs includes/functions-timeout-duration.md), and reading a point at a page blob's
 * 60 MiB/s takes longer than that past about 13 GiB.
 */
export async function requestVerify(deps: Deps, itemKey: string, pointId: string): Promise<Job> {
  await getPoint(deps, itemKey, pointId);
  const { job } = await createJob(deps, { type: 'Verify', itemKey, trigger: 'Api', params: { pointId } });
  await deps.queues.queue(VERIFY_QUEUE).send({ jobId: job.jobId });
  return job;
}

/** Reads the whole point again, so a redelivery simply starts over; the verdict lands on the point and the job. */
export async function verifyStep(deps: Deps, msg: { jobId: string }): Promise<void> {
  const job = await getJob(deps, msg.jobId);
  if (isTerminal(job) || !job.itemKey) return;
  const pointId = String(job.params.pointId);
  await updateJob(deps, job.jobId, (j) => {
    j.status = 'InProgress';
    j.startedAt ??= deps.clock();
  });
  let last = 0;
  const r = await verifyPoint(deps, job.itemKey, pointId, (done, total) => {
    const now = deps.clock().getTime();
    if (now - last < PROGRESS_EVERY_MS) return;
    last = now;
    void updateJob(deps, job.jobId, (j) => {
      j.bytesTotal = total;
      j.bytesDone = Math.max(j.bytesDone, done);
    }).catch(() => undefined); // progress is advisory; the final update below is not
  });
  await updateJob(deps, job.jobId, (j) => {
    j.result = { state: r.state, disks: r.disks };
    j.bytesTotal = Math.max(j.bytesTotal, j.bytesDone);
    j.bytesDone = j.bytesTotal;
  });
  if (r.state === 'Verified') {
    await finishJob(deps, job.jobId, 'Completed');
    return;
  }
  const bad = r.disks.filter((d) => !d.ok).map((d) => `${d.diskKey}: ${d.problem}`).join('; ');
  await finishJob(deps, job.jobId, 'Failed', {
    code: 'RecoveryPointCorrupt',
    message: `Recovery point '${pointId}' does not match its manifest (${bad}); it is marked Corrupt and will not be restored.`,
    recommendedAction: 'Restore an older or newer recovery point, and take a new backup of the item.',
  });
}
