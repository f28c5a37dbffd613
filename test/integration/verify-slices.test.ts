import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAppStack, type AppStack } from '../support/app-stack';
import { SUB } from '../support/emulator';
import { EmulatorState } from '../../src/emulator/arm/state';
import { fill } from '../../src/emulator/guest';
import { backupNow, requestRegistration } from '../../src/core/workflows/protection/protection';
import { requestVerify, VERIFY_QUEUE, verifyStep } from '../../src/core/workflows/verify/verify';
import { getJob } from '../../src/core/jobs/jobs';
import { itemKeyFor } from '../../src/core/store/layout';

const MIB = 1024 ** 2;
/** One invocation may read this much (VMBACKUP_STEP_BUDGET_MIB); the point holds twelve times more. */
const BUDGET_MIB = 8;
const DATA_MIB = 96;

/**
 * Verify over Azurite's shard snapshots in slices of one invocation's budget: an HTTP trigger answers within
 * 230 s and a queue invocation within the function timeout (MicrosoftDocs azure-docs
 * includes/functions-timeout-duration.md), so a point larger than one invocation is read over several deliveries
 * that each start at the checkpoint the one before saved on the job.
 */
describe("verify of a point twelve times one invocation's byte budget (Azurite and the emulator)", () => {
  let s: AppStack;
  beforeAll(async () => {
    s = await startAppStack({ VMBACKUP_SEGMENT_SIZE_MIB: '8', VMBACKUP_SHARD_SIZE_MIB: '32', VMBACKUP_STEP_BUDGET_MIB: String(BUDGET_MIB) }, [], { [VERIFY_QUEUE]: verifyStep });
  }, 60_000);
  afterAll(async () => s?.stop());

  it('reads it over many deliveries, each within its budget, and marks it Verified with the progress at the end', { timeout: 120_000 }, async () => {
    const vm = s.emulator.createVm({
      subscriptionId: SUB,
      resourceGroup: 'rg',
      name: 'big1',
      disks: [
        { name: 'big1-os', sizeBytes: 32 * MIB, lun: -1 },
        { name: 'big1-data', sizeBytes: DATA_MIB * MIB, lun: 0 },
      ],
    });
    fill(s.emulator.store, EmulatorState.key(s.emulator.state.vm(vm.id)!.dataDisks[0]!.diskId), 0, DATA_MIB * MIB, 9);
    await requestRegistration(s.deps, [vm.id]);
    await s.drain();
    const itemKey = itemKeyFor(vm.id);
    const backup = await backupNow(s.deps, itemKey);
    await s.drain();
    expect((await getJob(s.deps, backup.jobId)).status).toBe('Completed');

    const job = await requestVerify(s.deps, itemKey, backup.jobId);
    let deliveries = 0;
    const seen: number[] = [];
    await s.drain({
      beforeStep: async (q, msg) => {
        if (q !== VERIFY_QUEUE) return;
        deliveries++;
        seen.push((await getJob(s.deps, msg.jobId)).bytesDone);
      },
    });
    const done = await getJob(s.deps, job.jobId);
    expect(done.status, JSON.stringify(done.error)).toBe('Completed');
    expect(done.result).toEqual({
      state: 'Verified',
      disks: [
        { diskKey: 'os', ok: true },
        { diskKey: 'lun-0', ok: true },
      ],
    });
    expect(deliveries).toBeGreaterThanOrEqual(DATA_MIB / BUDGET_MIB);
    // Each delivery started where the one before stopped, at most one budget (one 8 MiB span) further on.
    for (let i = 1; i < seen.length; i++) expect(seen[i]! - seen[i - 1]!).toBeLessThanOrEqual(BUDGET_MIB * MIB);
    expect(done.bytesDone).toBe(DATA_MIB * MIB);
    expect(done.segmentsDone).toBe(done.segmentsTotal);
    expect((await s.deps.repos.points.get(itemKey, backup.jobId))!.doc.verifiedAt).toBeDefined();
  });
});
