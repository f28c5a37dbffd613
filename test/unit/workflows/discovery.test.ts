import { describe, expect, it } from 'vitest';
import { discoveryStep, requestDiscovery, DISCOVERY_QUEUE } from '../../../src/core/workflows/discovery/discovery';
import { createPolicy } from '../../../src/core/workflows/protection/policies';
import { reconcile } from '../../../src/core/jobs/reconciler';
import { getJob } from '../../../src/core/jobs/jobs';
import { TransientError } from '../../../src/core/errors';
import { itemKeyFor } from '../../../src/core/store/layout';
import type { ComputePort } from '../../../src/core/ports/compute';
import { memoryDeps, MIB, SUB, type MemoryStack } from '../../support/memory-deps';
import { DAILY_POLICY, finished } from '../../support/memory-fixtures';

const SUB2 = '00000000-0000-0000-0000-00000000bbbb';

function world(s: MemoryStack): { tagged: string; plain: string; other: string } {
  const vm = (sub: string, name: string, tags: Record<string, string> = {}): string =>
    s.cloud.createVm({ subscriptionId: sub, resourceGroup: 'rg', name, tags, disks: [{ name: `${name}-os`, sizeBytes: 32 * MIB, lun: -1 }] }).id;
  return { tagged: vm(SUB, 'web1', { 'vmbackup-policy': 'daily' }), plain: vm(SUB, 'db1'), other: vm(SUB2, 'app1', { 'vmbackup-policy': 'daily' }) };
}

const registerJobs = async (s: MemoryStack): Promise<number> => (await s.deps.repos.jobs.all()).filter((j) => j.type === 'Register').length;

describe('discovery job (memory adapters)', () => {
  it('is one queued job: a second request follows it; the job lists every subscription and registers tagged VMs', async () => {
    const s = memoryDeps({ settings: { VMBACKUP_SUBSCRIPTION_IDS: `${SUB},${SUB2}` } });
    await createPolicy(s.deps, DAILY_POLICY);
    const vms = world(s);
    const first = await requestDiscovery(s.deps);
    expect(first).toMatchObject({ running: false, job: { type: 'Discovery', status: 'Queued' } });
    const again = await requestDiscovery(s.deps);
    expect(again).toMatchObject({ running: true, job: { jobId: first.job.jobId } });
    expect(s.queues.sent.get(DISCOVERY_QUEUE)).toHaveLength(1);
    await s.drain();
    const done = await finished(s, first.job.jobId);
    expect(done.result).toMatchObject({ vms: 3, skippedAutoProtect: [], subscriptionsDone: [SUB, SUB2] });
    expect((done.result.autoRegistered as string[]).sort()).toEqual([vms.tagged, vms.other].sort());
    expect((await s.deps.repos.discovered.all()).map((v) => v.name).sort()).toEqual(['app1', 'db1', 'web1']);
    expect((await s.deps.repos.items.get(itemKeyFor(vms.tagged)))!.doc).toMatchObject({ state: 'ProtectionPending', policyName: 'daily' });
    expect(await s.deps.repos.items.get(itemKeyFor(vms.plain))).toBeUndefined();
    // Once it has ended, the next request is a new job.
    const next = await requestDiscovery(s.deps);
    expect(next.running).toBe(false);
    expect(next.job.jobId).not.toBe(first.job.jobId);
  });

  it('resumes after a delivery that died part way: listed subscriptions are skipped, each tagged VM registered once', async () => {
    let sub2Lists = 0,
      sub1Lists = 0;
    const s = memoryDeps({
      settings: { VMBACKUP_SUBSCRIPTION_IDS: `${SUB},${SUB2}` },
      deps: (d) => ({
        compute: Object.assign(Object.create(d.compute) as ComputePort, {
          listVms: (sub: string) => {
            if (sub === SUB) sub1Lists++;
            // The first pass over the second subscription dies (a throttled list, a killed process).
            if (sub === SUB2 && sub2Lists++ === 0) throw new TransientError('Throttled', 'throttled', 'retry');
            return d.compute.listVms(sub);
          },
        }),
      }),
    });
    await createPolicy(s.deps, DAILY_POLICY);
    world(s);
    const { job } = await requestDiscovery(s.deps);
    await s.drain();
    const done = await finished(s, job.jobId);
    expect(done.result.vms).toBe(3);
    expect(done.result.autoRegistered).toHaveLength(2);
    expect(sub2Lists).toBe(2);
    // The redelivery skipped the subscription the first pass had listed to the end.
    expect(sub1Lists).toBe(1);
    expect(await registerJobs(s)).toBe(2);
    const regs = (await s.deps.repos.jobs.all()).filter((j) => j.type === 'Register');
    expect(regs.map((j) => [j.status, j.error?.code])).toEqual([
      ['Completed', undefined],
      ['Completed', undefined],
    ]);
  });

  it('two deliveries of one discovery at once make one Register job per tagged VM', async () => {
    const s = memoryDeps({ settings: { VMBACKUP_SUBSCRIPTION_IDS: `${SUB},${SUB2}` } });
    await createPolicy(s.deps, DAILY_POLICY);
    world(s);
    const { job } = await requestDiscovery(s.deps);
    s.queues.drain(DISCOVERY_QUEUE);
    await Promise.all([discoveryStep(s.deps, { jobId: job.jobId }), discoveryStep(s.deps, { jobId: job.jobId })]);
    const done = await finished(s, job.jobId);
    expect(done.result).toMatchObject({ vms: 3, subscriptionsDone: [SUB, SUB2] });
    expect(done.result.autoRegistered).toHaveLength(2);
    expect(await registerJobs(s)).toBe(2);
    expect(s.queues.sent.get('vmb-register')).toHaveLength(2);
  });

  it('a job whose process died is re-driven by the reconciler through its kind and completes', async () => {
    const s = memoryDeps();
    world(s);
    const { job } = await requestDiscovery(s.deps, 'Scheduled');
    s.queues.drain(DISCOVERY_QUEUE); // the message dies with the process
    expect((await reconcile(s.deps)).jobsRedriven).toBe(0);
    s.clock.advance(61_000);
    expect((await requestDiscovery(s.deps)).running).toBe(true); // still the one discovery
    expect((await reconcile(s.deps)).jobsRedriven).toBe(1);
    await s.drain();
    const done = await finished(s, job.jobId);
    expect(done).toMatchObject({ trigger: 'Scheduled', result: { vms: 2 } });
    expect(done.result.skippedAutoProtect).toEqual([{ vmId: expect.stringContaining('web1'), reason: "policy 'daily' does not exist" }]);
    expect((await getJob(s.deps, job.jobId)).params.redrives).toBe(1);
  });
});
