import { describe, expect, it } from 'vitest';
import { backupNow, requestRegistration } from '../../../src/core/workflows/protection/protection';
import { checkpointOf, requestVerify, VERIFY_QUEUE } from '../../../src/core/workflows/verify/verify';
import { diskSpans, openDiskManifest } from '../../../src/core/workflows/verify/slice';
import { reconcile } from '../../../src/core/jobs/reconciler';
import { getJob } from '../../../src/core/jobs/jobs';
import { TransientError } from '../../../src/core/errors';
import { CELL } from '../../../src/core/domain/ranges';
import type { BackupStore } from '../../../src/core/ports/storage';
import type { RecoveryPoint } from '../../../src/core/domain/model';
import { itemKeyFor } from '../../../src/core/store/layout';
import { memoryDeps, MIB, SUB, type MemoryStack } from '../../support/memory-deps';
import { finished, pattern } from '../../support/memory-fixtures';

/** One delivery may read this much (VMBACKUP_STEP_BUDGET_MIB): the point holds twelve times more. */
const BUDGET_MIB = 8;
const DATA_MIB = 96;

/** Reads of shard snapshots pass through here, so a test can count them, fail one, or flip a byte of one. */
interface Tap {
  bytes: number;
  fail?: (n: number) => boolean;
  failed: number;
  flip?: { name: string; offset: number };
  calls: number;
}

function stack(settings: Record<string, string> = {}): { s: MemoryStack; tap: Tap } {
  const tap: Tap = { bytes: 0, calls: 0, failed: 0 };
  const s = memoryDeps({
    settings: { VMBACKUP_STEP_BUDGET_MIB: String(BUDGET_MIB), ...settings },
    deps: (d) => ({
      store: Object.assign(Object.create(d.store) as BackupStore, {
        readShardSnapshot: async (name: string, snapshot: string, range: { start: number; end: number }) => {
          if (tap.fail?.(++tap.calls) && ++tap.failed) throw new TransientError('ServerBusy', 'the read was cut off', 'retry');
          const data = Buffer.from(await d.store.readShardSnapshot(name, snapshot, range));
          tap.bytes += data.length;
          const f = tap.flip;
          if (f && f.name === name && f.offset >= range.start && f.offset < range.end) data[f.offset - range.start]! ^= 0xff;
          return data;
        },
      }),
    }),
  });
  return { s, tap };
}

/** A VM whose 96 MiB data disk is written end to end, backed up once. */
async function bigPoint(s: MemoryStack): Promise<{ itemKey: string; point: RecoveryPoint }> {
  const vm = s.cloud.createVm({
    subscriptionId: SUB,
    resourceGroup: 'rg',
    name: 'big',
    disks: [
      { name: 'big-os', sizeBytes: 32 * MIB, lun: -1 },
      { name: 'big-d0', sizeBytes: DATA_MIB * MIB, lun: 0 },
    ],
  });
  s.cloud.writeDisk(vm.osDiskId, 0, pattern(MIB, 1));
  s.cloud.writeDisk(vm.dataDisks[0]!.diskId, 0, pattern(DATA_MIB * MIB, 2));
  await requestRegistration(s.deps, [vm.id]);
  await s.drain();
  const itemKey = itemKeyFor(vm.id);
  const job = await backupNow(s.deps, itemKey);
  await s.drain();
  await finished(s, job.jobId);
  return { itemKey, point: (await s.deps.repos.points.get(itemKey, job.jobId))!.doc };
}

async function verifyDeliveries(s: MemoryStack, itemKey: string, pointId: string): Promise<{ jobId: string; deliveries: number }> {
  const job = await requestVerify(s.deps, itemKey, pointId);
  let deliveries = 0;
  await s.drain({
    beforeStep: (q) => {
      if (q === VERIFY_QUEUE) deliveries++;
    },
  });
  return { jobId: job.jobId, deliveries };
}

describe('verify in slices with a checkpoint (memory adapters, 8 MiB byte budget per delivery)', () => {
  it('verifies a point of twelve budgets over as many deliveries: Verified, each byte read once, progress to the end', async () => {
    const { s, tap } = stack();
    const { itemKey, point } = await bigPoint(s);
    tap.bytes = 0;
    const { jobId, deliveries } = await verifyDeliveries(s, itemKey, point.pointId);
    const done = await finished(s, jobId);
    expect(done.result).toEqual({
      state: 'Verified',
      disks: [
        { diskKey: 'os', ok: true },
        { diskKey: 'lun-0', ok: true },
      ],
    });
    expect(deliveries).toBeGreaterThanOrEqual(DATA_MIB / BUDGET_MIB);
    expect(tap.bytes).toBe((DATA_MIB + 1) * MIB);
    expect(done.bytesDone).toBe(done.bytesTotal);
    expect(done.bytesTotal).toBe((DATA_MIB + 4) * MIB); // cells of 4 MiB: the OS disk's one MiB is one cell
    expect(done.segmentsTotal).toBe(4 + DATA_MIB / 8);
    expect(done.segmentsDone).toBe(done.segmentsTotal);
    expect((await s.deps.repos.points.get(itemKey, point.pointId))!.doc.verifiedAt).toBeDefined();
  });

  it('catches one flipped byte in the last span read, after the budget split the walk', async () => {
    const { s, tap } = stack();
    const { itemKey, point } = await bigPoint(s);
    const d = point.disks.find((x) => x.diskKey === 'lun-0')!;
    const spans = diskSpans(d, (await openDiskManifest(s.deps, d))!, s.config.copy.segmentSize);
    const last = spans[spans.length - 1]!;
    const shard = Math.floor(last.start / d.shardSize);
    tap.flip = { name: d.shards[shard]!.name, offset: last.start - shard * d.shardSize + CELL + 4096 };
    const { jobId, deliveries } = await verifyDeliveries(s, itemKey, point.pointId);
    const done = await finished(s, jobId, 'Failed');
    expect(deliveries).toBeGreaterThanOrEqual(DATA_MIB / BUDGET_MIB);
    expect(done.error!.code).toBe('RecoveryPointCorrupt');
    expect(done.error!.message).toMatch(/lun-0: 1 cell\(s\) differ from the manifest/);
    expect(done.result.disks).toEqual([
      { diskKey: 'os', ok: true },
      { diskKey: 'lun-0', ok: false, problem: '1 cell(s) differ from the manifest' },
    ]);
    expect((await s.deps.repos.points.get(itemKey, point.pointId))!.doc.state).toBe('Corrupt');
  });

  it('resumes at the checkpoint after a delivery dies part way, re-reading at most one budget', async () => {
    const { s, tap } = stack();
    const { itemKey, point } = await bigPoint(s);
    tap.bytes = 0;
    tap.calls = 0;
    // The read that starts the seventh data span dies with its process: the redelivery starts where it stood.
    tap.fail = (n) => n === 7 * 2 + 1;
    const { jobId } = await verifyDeliveries(s, itemKey, point.pointId);
    expect((await finished(s, jobId)).result.state).toBe('Verified');
    expect(tap.failed).toBe(1);
    expect(tap.bytes).toBeGreaterThanOrEqual((DATA_MIB + 1) * MIB);
    expect(tap.bytes).toBeLessThanOrEqual((DATA_MIB + 1 + BUDGET_MIB) * MIB);
  });

  it('a verify whose message was lost is re-driven from its checkpoint; one that keeps saving is left alone', async () => {
    const { s } = stack({ VMBACKUP_LOCK_TTL_SECONDS: '60' });
    const { itemKey, point } = await bigPoint(s);
    const job = await requestVerify(s.deps, itemKey, point.pointId);
    await s.drain({ rounds: 5 });
    s.queues.drain(VERIFY_QUEUE); // the continuation dies with the process
    const stopped = checkpointOf(await getJob(s.deps, job.jobId))!;
    expect(stopped.spans).toBeGreaterThan(0);
    // Its start is old, but its checkpoint moved within the lease: alive.
    s.clock.advance(10 * 61_000);
    await s.deps.repos.jobs.update(job.jobId, (j) => {
      j.result = { ...j.result, checkpointAt: new Date(s.clock.ms - 30_000).toISOString() };
    });
    expect((await reconcile(s.deps)).jobsRedriven).toBe(0);
    s.clock.advance(61_000);
    expect((await reconcile(s.deps)).jobsRedriven).toBe(1);
    await s.drain();
    const done = await finished(s, job.jobId);
    expect(done.result.state).toBe('Verified');
    expect(done.params.redrives).toBe(1);
  });
});
