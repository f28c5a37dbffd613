import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PipelinePolicy } from '@azure/core-rest-pipeline';
import { startAppStack, type AppStack } from '../support/app-stack';
import { SUB } from '../support/emulator';
import { EmulatorState } from '../../src/emulator/arm/state';
import { contentDigest, fill } from '../../src/emulator/guest';
import { backupNow, requestRegistration } from '../../src/core/workflows/protection/protection';
import { requestRestore } from '../../src/core/workflows/restore/restore';
import { RESTORE_QUEUES } from '../../src/core/workflows/restore/plan';
import { getJob } from '../../src/core/jobs/jobs';
import { progressFraction } from '../../src/core/views/queries';
import { itemKeyFor } from '../../src/core/store/layout';
import type { Job, RecoveryPoint } from '../../src/core/domain/model';

const MIB = 1024 ** 2;
/** One invocation may read this much (VMBACKUP_STEP_BUDGET_MIB): the data disk holds 20 times more. */
const BUDGET_MIB = 8;
const DATA_MIB = 160;

class InjectedCrash extends Error {}

/**
 * Watches the restore's writes to upload disks (Put Page through a disk SAS, `/md-…?comp=page`): counts their
 * bytes, can throw at the k-th one as if the process died right there, and can move the emulator's clock past
 * the SAS lifetime at the n-th one. Also counts the 403s Storage answers.
 */
function uploadWatch(stack: () => AppStack) {
  const w = { bytes: 0, puts: 0, crashAt: 0, fired: 0, expireAt: 0, forbidden: 0, diskPuts: [] as Record<string, any>[] }; // eslint-disable-line @typescript-eslint/no-explicit-any
  const policy: PipelinePolicy = {
    name: 'uploadWatch',
    async sendRequest(req, next) {
      const put = req.method === 'PUT' && /\/md-[^/]+\/abcd\?/.test(req.url) && /comp=page/.test(req.url);
      if (req.method === 'PUT' && /\/providers\/Microsoft\.Compute\/disks\/[^/?]+\?/i.test(req.url) && typeof req.body === 'string') w.diskPuts.push(JSON.parse(req.body));
      if (put) {
        w.puts++;
        if (w.crashAt > 0 && w.puts === w.crashAt) {
          w.crashAt = 0;
          w.fired++;
          throw new InjectedCrash(`crash injected at put ${w.puts}`);
        }
        if (w.expireAt > 0 && w.puts === w.expireAt) {
          w.expireAt = 0;
          stack().emulator.clock.advance(301_000);
        }
      }
      let res;
      try {
        res = await next(req);
      } catch (err) {
        if (put && (err as { statusCode?: number }).statusCode === 403) w.forbidden++;
        throw err;
      }
      if (put && res.status === 403) w.forbidden++;
      if (put && res.status < 300) w.bytes += Number(req.headers.get('content-length') ?? 0);
      return res;
    },
  };
  return { w, policy };
}

describe('segmented, resumable restore (AZURE-FIDELITY B3): many invocations, kills, SAS expiry', () => {
  let stack: AppStack;
  let vmId: string;
  let itemKey: string;
  let point: RecoveryPoint;
  const { w, policy } = uploadWatch(() => stack);
  const warnings: string[] = [];

  beforeAll(async () => {
    stack = await startAppStack({ VMBACKUP_SEGMENT_SIZE_MIB: '64', VMBACKUP_STEP_BUDGET_MIB: String(BUDGET_MIB), VMBACKUP_SAS_DURATION_SECONDS: '300' }, [policy]);
    const log = stack.deps.log;
    stack.deps.log = {
      ...log,
      warn: (m, d) => {
        warnings.push(m);
        log.warn(m, d);
      },
    };
    vmId = stack.emulator.createVm({
      subscriptionId: SUB,
      resourceGroup: 'rg',
      name: 'big1',
      disks: [
        { name: 'big1-os', sizeBytes: 32 * MIB, lun: -1 },
        { name: 'big1-data', sizeBytes: (DATA_MIB + 16) * MIB, lun: 0, sku: 'StandardSSD_LRS' },
      ],
    }).id;
    const vm = stack.emulator.state.vm(vmId)!;
    fill(stack.emulator.store, EmulatorState.key(vm.osDiskId), 0, 12 * MIB, 3);
    // Data in every cell but one window of zeros in the middle, and a tail written in sub-cell pieces.
    fill(stack.emulator.store, EmulatorState.key(vm.dataDisks[0]!.diskId), 0, 70 * MIB, 5);
    fill(stack.emulator.store, EmulatorState.key(vm.dataDisks[0]!.diskId), 78 * MIB, (DATA_MIB - 70) * MIB, 6);
    fill(stack.emulator.store, EmulatorState.key(vm.dataDisks[0]!.diskId), (DATA_MIB + 9) * MIB + 512, 3 * 512, 7);
    itemKey = itemKeyFor(vmId);
    await requestRegistration(stack.deps, [vmId]);
    await stack.drain();
    const b = await backupNow(stack.deps, itemKey);
    await stack.drain();
    expect((await getJob(stack.deps, b.jobId)).status).toBe('Completed');
    point = (await stack.deps.repos.points.get(itemKey, b.jobId))!.doc;
  }, 120_000);
  afterAll(async () => stack?.stop());

  const exact = (job: Job): void => {
    expect(job.status, JSON.stringify(job.error)).toBe('Completed');
    const disks = job.result.disks as { diskKey: string; diskId: string }[];
    expect(disks).toHaveLength(2);
    for (const d of disks) {
      const src = point.disks.find((x) => x.diskKey === d.diskKey)!.sourceSnapshotId;
      expect(contentDigest(stack.emulator.store, EmulatorState.key(d.diskId)), d.diskKey).toBe(contentDigest(stack.emulator.store, EmulatorState.key(src)));
      expect(stack.emulator.state.disk(d.diskId)!.state, d.diskKey).toBe('Unattached');
    }
    expect(stack.emulator.state.grants.size, 'open SAS').toBe(0);
    expect(job.bytesDone).toBe(job.bytesTotal);
    expect(job.segmentsDone).toBe(job.segmentsTotal);
  };

  /** Runs a restore to its end, checking the job's progress before every delivery. */
  const restore = async (): Promise<{ job: Job; segmentDeliveries: number }> => {
    const r = await requestRestore(stack.deps, { itemKey, pointId: point.pointId, mode: 'newDisks', source: 'vault' });
    let segmentDeliveries = 0;
    let last = 0;
    await stack.drain({
      beforeStep: async (queue, msg) => {
        if (queue === RESTORE_QUEUES.segment) segmentDeliveries++;
        if (msg.jobId !== r.jobId) return;
        const j = await getJob(stack.deps, r.jobId);
        expect(j.bytesDone).toBeGreaterThanOrEqual(last);
        expect(j.bytesDone).toBeLessThanOrEqual(j.bytesTotal);
        if (j.status !== 'Completed') expect(progressFraction(j) ?? 0).toBeLessThan(1);
        last = j.bytesDone;
      },
    });
    return { job: await getJob(stack.deps, r.jobId), segmentDeliveries };
  };

  it("restores a disk holding 20x one invocation's byte budget, byte-exact, one budget per invocation", { timeout: 120_000 }, async () => {
    const { job, segmentDeliveries } = await restore();
    exact(job);
    expect(progressFraction(job)).toBe(1);
    // 43 data cells at 2 cells per invocation: at least 20 invocations of the segment step.
    expect(segmentDeliveries).toBeGreaterThanOrEqual((DATA_MIB + 12) / BUDGET_MIB);
    expect(job.bytesTotal).toBeGreaterThanOrEqual((DATA_MIB + 12) * MIB - 8 * MIB);
  });

  it('resumes a restore cut off mid-disk from its checkpoint, not from byte 0 (fails on a restore without checkpoints)', { timeout: 120_000 }, async () => {
    const data = (DATA_MIB + 12) * MIB;
    w.bytes = 0;
    w.puts = 0;
    // About 60 % in: with 4 MiB puts, the put that crosses that many bytes.
    w.crashAt = Math.floor((0.6 * data) / (4 * MIB));
    const { job } = await restore();
    expect(w.fired).toBe(1);
    exact(job);
    // Restarting at byte 0 would write 1.6x the data; a resume rewrites at most one invocation's budget.
    expect(w.bytes).toBeLessThanOrEqual(data + 2 * BUDGET_MIB * MIB);
  });

  it('ends byte-exact when killed at random points of its segments and finish', { timeout: 240_000 }, async () => {
    let seed = 17;
    const rnd = (): number => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    for (let round = 0; round < 3; round++) {
      w.puts = 0;
      w.crashAt = 1 + Math.floor(rnd() * 46);
      const firedBefore = w.fired;
      const { job } = await restore();
      expect(w.fired, `round ${round}`).toBe(firedBefore + 1);
      exact(job);
    }
  });

  it('renews the write SAS when Storage answers 403 after it expired, inside the invocation', { timeout: 120_000 }, async () => {
    w.puts = 0;
    w.forbidden = 0;
    w.expireAt = 5;
    const warned = warnings.length;
    const { job } = await restore();
    exact(job);
    expect(w.forbidden).toBeGreaterThan(0);
    // No delivery failed: the 403 was answered by a new grant, not by a redelivery.
    expect(warnings.slice(warned)).toEqual([]);
    const writes = stack.emulator.state.grantLog.filter(
      (g) => g.access === 'Write' && (job.result.disks as { diskId: string }[]).some((d) => EmulatorState.key(d.diskId) === EmulatorState.key(g.resourceId)),
    );
    expect(writes.every((g) => g.revokedAt !== undefined)).toBe(true);
  });

  it("records each disk's SKU, LUN and OS type at backup and creates the restored disks with them (AZURE-FIDELITY M6)", { timeout: 120_000 }, async () => {
    const data = point.disks.find((d) => d.lun === 0)!;
    const os = point.disks.find((d) => d.lun < 0)!;
    expect(data.profile).toMatchObject({ sku: 'StandardSSD_LRS', lun: 0 });
    expect(os.profile).toMatchObject({ sku: 'Premium_LRS', lun: -1, osType: 'Linux' });
    w.diskPuts = [];
    const { job } = await restore();
    exact(job);
    // The emulator gives a disk created without a SKU Premium_LRS: a SKU left unrecorded shows here.
    const restored = job.result.disks as { diskKey: string; diskId: string }[];
    expect(stack.emulator.state.disk(restored.find((d) => d.diskKey === 'lun-0')!.diskId)!.sku).toBe('StandardSSD_LRS');
    const osPut = w.diskPuts.find((b) => b.properties?.osType);
    expect(osPut).toMatchObject({ sku: { name: 'Premium_LRS' }, properties: { osType: 'Linux', creationData: { createOption: 'Upload' } } });
  });

  it('sends the zone, generation, encryption set and tags a point recorded (the emulator keeps none of them: the request is checked)', { timeout: 120_000 }, async () => {
    const des = `/subscriptions/${SUB}/resourceGroups/rg/providers/Microsoft.Compute/diskEncryptionSets/des1`;
    await stack.deps.repos.points.update(itemKey, point.pointId, (p) => {
      const os = p.disks.find((d) => d.lun < 0)!;
      os.profile = { ...os.profile!, zones: ['2'], hyperVGeneration: 'V2', diskEncryptionSetId: des, tags: { app: 'shop' } };
    });
    point = (await stack.deps.repos.points.get(itemKey, point.pointId))!.doc;
    w.diskPuts = [];
    const { job } = await restore();
    exact(job);
    const osPut = w.diskPuts.find((b) => b.properties?.osType)!;
    expect(osPut.zones).toEqual(['2']);
    expect(osPut.properties).toMatchObject({ hyperVGeneration: 'V2', encryption: { diskEncryptionSetId: des } });
    expect(osPut.tags).toMatchObject({ app: 'shop', 'vmbackup-restore-job': job.jobId });
    const dataPut = w.diskPuts.find((b) => !b.properties?.osType)!;
    expect(dataPut.properties.hyperVGeneration).toBeUndefined();
  });

  it('refuses a point with a disk over 32 TiB for upload restore, with the reason (AZURE-FIDELITY m7)', async () => {
    const big = { ...point, pointId: `${point.pointId}-big`, disks: point.disks.map((d) => (d.lun === 0 ? { ...d, sizeBytes: 33 * 1024 ** 4 } : d)) };
    await stack.deps.repos.points.insert(big);
    await expect(requestRestore(stack.deps, { itemKey, pointId: big.pointId, mode: 'newDisks', source: 'vault' })).rejects.toMatchObject({
      code: 'DiskTooLargeForUpload',
      message: expect.stringMatching(/32 TiB/),
    });
    await stack.deps.repos.points.delete(big);
  });
});
