import type { Job, RecoveryPoint, RecoveryPointDisk } from '../../domain/model';
import { CELL } from '../../domain/ranges';
import { imageDigest, openManifest, sumCells, type ManifestReader } from '../../engine/manifest-parts';
import { ManifestMismatchError, restoreDisk } from '../../engine/restore-disk';
import { ManifestFormatError } from '../../engine/manifest';
import { runPool } from '../../engine/copy-segment';
import { AdaptiveLimiter } from '../../engine/pacer';
import { roundRobin, segmentLayout } from '../../engine/shards';
import { manifestPartBlob } from '../../store/layout';
import type { Deps } from '../../jobs/deps';
import { createJob, finishJob, getJob, isTerminal, updateJob } from '../../jobs/jobs';
import { newParams, paramsOf } from '../../jobs/params';
import { verifyParams } from './params';
import { getPoint } from '../restore/restore';

export const VERIFY_QUEUE = 'vmb-verify';
const PROGRESS_EVERY_MS = 1000;

export interface VerifyResult {
  pointId: string;
  state: 'Verified' | 'Corrupt';
  disks: { diskKey: string; ok: boolean; problem?: string }[];
}

/**
 * Re-reads a recovery point's shard snapshots and checks every cell against its manifest, one manifest part (or,
 * for a format-1 manifest, one segment-sized span) at a time, so memory does not grow with the disk. The spans of
 * a disk are checked several at once: they mostly lie in different shards, which Azure serves at up to 60 MiB/s
 * each.
 */
export async function verifyPoint(deps: Deps, itemKey: string, pointId: string, onProgress?: (done: number, total: number) => void): Promise<VerifyResult> {
  const point: RecoveryPoint = await getPoint(deps, itemKey, pointId);
  const readers = new Map<string, ManifestReader | undefined>();
  for (const d of point.disks) readers.set(d.diskKey, await openManifest((n) => deps.store.getObject(n), d.manifest, manifestPartBlob));
  const total = [...readers.values()].reduce((n, m) => n + (m?.count ?? 0) * CELL, 0);
  let done = 0;
  const disks: VerifyResult['disks'] = [];
  for (const d of point.disks) {
    const reader = readers.get(d.diskKey);
    if (!reader) {
      disks.push({ diskKey: d.diskKey, ok: false, problem: 'manifest missing' });
      continue;
    }
    const outcome = await verifyDisk(deps, d, reader, (bytes) => onProgress?.(Math.min(total, (done += bytes)), total)).catch((err: unknown) => {
      if (err instanceof ManifestFormatError) return err;
      throw err;
    });
    if (outcome instanceof ManifestFormatError) {
      disks.push({ diskKey: d.diskKey, ok: false, problem: `the manifest cannot be read (${outcome.message})` });
      continue;
    }
    const { bad, digestOk } = outcome;
    if (bad > 0) disks.push({ diskKey: d.diskKey, ok: false, problem: `${bad} cell(s) differ from the manifest` });
    else if (!digestOk) disks.push({ diskKey: d.diskKey, ok: false, problem: "the manifest does not add up to the point's digest" });
    else disks.push({ diskKey: d.diskKey, ok: true });
  }
  const ok = disks.every((d) => d.ok);
  await deps.repos.points.update(itemKey, pointId, (x) => {
    if (ok) x.verifiedAt = deps.clock();
    else x.state = 'Corrupt';
  });
  return { pointId, state: ok ? 'Verified' : 'Corrupt', disks };
}

/** Cells of one disk that differ from the manifest, and whether the manifest adds up to the point's digest. */
async function verifyDisk(deps: Deps, d: RecoveryPointDisk, reader: ManifestReader, onBytes: (n: number) => void): Promise<{ bad: number; digestOk: boolean }> {
  const spanSize = (reader.partCells ?? deps.config.copy.segmentSize / CELL) * CELL;
  const spans = roundRobin(segmentLayout(d.sizeBytes, spanSize), (s) => String(Math.floor(s.start / d.shardSize)));
  const per = Math.max(1, Math.floor(deps.config.copy.concurrency / SPANS_AT_ONCE));
  let bad = 0;
  const sum = Buffer.alloc(32);
  await runPool(spans, new AdaptiveLimiter(SPANS_AT_ONCE), async (span) => {
    let read = 0;
    const manifest = { diskSize: d.sizeBytes, cells: await reader.cells(span) };
    sumCells(manifest.cells, sum);
    try {
      await restoreDisk(
        { diskSize: d.sizeBytes, shardSize: d.shardSize, shards: d.shards, manifest, span, concurrency: per, rangeWindow: deps.config.copy.diffWindow },
        deps.store,
        { putPages: async () => {} }, // reading and hashing is the check; nothing is written
        { onProgress: (s) => { onBytes(s.bytesRead - read); read = s.bytesRead; } },
      );
    } catch (err) {
      if (!(err instanceof ManifestMismatchError)) throw err;
      bad += err.cells.length;
    }
  });
  // The parts read must add up to the image the point recorded: a part swapped for another disk's, or left over
  // from an older point, matches its own data but not this digest.
  const digest = reader.legacyDigest ?? imageDigest(d.sizeBytes, sum);
  return { bad, digestOk: digest === d.digest && (!reader.sum || reader.sum.equals(sum)) };
}

/** Spans verified at once, taken round robin over the shards. */
const SPANS_AT_ONCE = 4;

/**
 * Verify runs as a job, not inside the HTTP call: Azure answers an HTTP trigger for at most 230 seconds
 * (MicrosoftDocs azure-docs includes/functions-timeout-duration.md), and reading a point at a page blob's
 * 60 MiB/s takes longer than that past about 13 GiB.
 */
export async function requestVerify(deps: Deps, itemKey: string, pointId: string): Promise<Job> {
  await getPoint(deps, itemKey, pointId);
  const { job } = await createJob(deps, { type: 'Verify', itemKey, trigger: 'Api', params: newParams(verifyParams, { pointId }) });
  await deps.queues.queue(VERIFY_QUEUE).send({ jobId: job.jobId });
  return job;
}

/** Reads the whole point again, so a redelivery simply starts over; the verdict lands on the point and the job. */
export async function verifyStep(deps: Deps, msg: { jobId: string }): Promise<void> {
  const job = await getJob(deps, msg.jobId);
  if (isTerminal(job) || !job.itemKey) return;
  const { pointId } = paramsOf(job, verifyParams);
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
