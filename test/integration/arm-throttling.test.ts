import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAppStack, type AppStack } from '../support/app-stack';
import { SUB } from '../support/emulator';
import { EmulatorState } from '../../src/emulator/arm/state';
import { contentDigest, fill } from '../../src/emulator/guest';
import { backupNow, requestRegistration } from '../../src/core/workflows/protection/protection';
import { requestRestore } from '../../src/core/workflows/restore/restore';
import { getJob, isTerminal } from '../../src/core/jobs/jobs';
import { itemKeyFor } from '../../src/core/store/layout';
import type { Job } from '../../src/core/domain/model';

const MIB = 1024 ** 2;

/**
 * The compute emulator's ARM token buckets made far smaller than Azure's (the soak's arm429Buckets numbers), so
 * reads and writes meet 429 with Retry-After through the real @azure/arm-compute client: ARM answers a throttled
 * request "429 Too many requests" with "a Retry-After value, which specifies the number of seconds your
 * application should wait" (https://learn.microsoft.com/azure/azure-resource-manager/management/request-limits-and-throttling),
 * Compute likewise (https://learn.microsoft.com/troubleshoot/azure/virtual-machines/troubleshooting-throttling-errors).
 *
 * Before the step runtime waited for ARM (jobs/arm-wait.ts) this failed: the SDK's throttling retry gave up after
 * three tries, each 429 spent a queue delivery, and the fifth ended the backup InternalError with ARM's text
 * "Number of 'read' requests ... exceeded" (the soak saw 2 of 20 backups end so). With one delivery per
 * message allowed here, any 429 that reached the queue as a failure would fail its job at once; on the code
 * before that change this test fails so, in the first round of backups (three VMs, duplicate deliveries).
 */
// Tight enough that every round of backups meets 429s, loose enough that the doubling waits stay seconds long
// (at 4 tokens refilling 0.001/s the test waited 160 s of Retry-After).
const TIGHT = {
  reads: { bucket: 6, refillPerSecond: 0.004 },
  writes: { bucket: 6, refillPerSecond: 0.004 },
  deletes: { bucket: 6, refillPerSecond: 0.004 },
  globalMultiplier: 15,
};

describe('ARM throttling on the emulator: backups and restores wait for the Retry-After, never fail on it', () => {
  let s: AppStack;
  const vms: string[] = [];
  beforeAll(async () => {
    // Small segments: many copy messages at once, each granting its SAS, compete for the same tokens.
    s = await startAppStack(
      { VMBACKUP_MAX_DEQUEUE_COUNT: '1', VMBACKUP_SEGMENT_SIZE_MIB: '8', VMBACKUP_SHARD_SIZE_MIB: '16', VMBACKUP_DIFF_WINDOW_MIB: '4' },
      [],
      {},
      { fidelity: { throttle: TIGHT } },
    );
    for (const name of ['thr1', 'thr2', 'thr3']) {
      vms.push(
        s.emulator.createVm({
          subscriptionId: SUB,
          resourceGroup: 'rg',
          name,
          disks: [
            { name: `${name}-os`, sizeBytes: 32 * MIB, lun: -1 },
            { name: `${name}-d0`, sizeBytes: 24 * MIB, lun: 0 },
          ],
        }).id,
      );
    }
  });
  afterAll(async () => s?.stop());

  /**
   * Drains with every delivery run twice at once (an at-least-once queue may): twice the callers per token. Stops
   * once the jobs have ended: a duplicate that lost the planning lease looks again only when the lease runs out
   * (a minute), a no-op then that the next drain delivers.
   */
  const allCompleted = async (jobIds: string[], duplicate = true): Promise<Job[]> => {
    const ended = async (): Promise<boolean> => (await Promise.all(jobIds.map((id) => getJob(s.deps, id)))).every(isTerminal);
    await s.drain({ duplicate, until: ended });
    const jobs = await Promise.all(jobIds.map((id) => getJob(s.deps, id)));
    for (const j of jobs) expect(j.status, JSON.stringify(j.error)).toBe('Completed');
    return jobs;
  };

  it('registers and backs up three VMs at once, then backs one up again and restores it byte-exact under sustained 429s, no delivery spent on them', async () => {
    const items = vms.map(itemKeyFor);
    const disks = vms.flatMap((id) => {
      const vm = s.emulator.state.vm(id)!;
      return [vm.osDiskId, ...vm.dataDisks.map((d) => d.diskId)].map(EmulatorState.key);
    });
    for (const d of disks) fill(s.emulator.store, d, MIB, 6 * MIB, 3);
    const jobs = await allCompleted((await requestRegistration(s.deps, vms)).map((j) => j.jobId));
    jobs.push(...(await allCompleted(await Promise.all(items.map(async (k) => (await backupNow(s.deps, k)).jobId)))));
    s.emulator.clock.advance(60_000);
    fill(s.emulator.store, disks[0]!, 9 * MIB, MIB, 4);
    const second = await allCompleted([(await backupNow(s.deps, items[0]!)).jobId]);
    jobs.push(...second);
    // Duplicate deliveries here too: two finishes at once sealed a disk under each other (one revoking the write
    // access the other was granted, its next grant refused "not ready for upload"), which failed this restore in
    // 2 of 3 runs before the finish took a lease (restore/finish.ts claimFinish).
    const [restore] = await allCompleted([(await requestRestore(s.deps, { itemKey: items[0]!, pointId: second[0]!.jobId, mode: 'newDisks', source: 'vault' })).jobId]);
    jobs.push(restore!);
    const point = (await s.deps.repos.points.get(items[0]!, second[0]!.jobId))!.doc;
    for (const d of restore!.result.disks as { diskKey: string; diskId: string }[]) {
      const src = point.disks.find((p) => p.diskKey === d.diskKey)!;
      expect(contentDigest(s.emulator.store, EmulatorState.key(d.diskId))).toBe(contentDigest(s.emulator.store, EmulatorState.key(src.sourceSnapshotId)));
    }
    // ARM did throttle, and the jobs that met it said they waited for it.
    expect(s.emulator.armStats.throttled).toBeGreaterThan(0);
    const waits = jobs.map((j) => (j.result.armThrottled as { waits?: number } | undefined)?.waits ?? 0);
    expect(waits.reduce((a, b) => a + b, 0)).toBeGreaterThan(0);
  });
});
