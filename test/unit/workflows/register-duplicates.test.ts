import { describe, expect, it } from 'vitest';
import { registerStep, requestRegistration } from '../../../src/core/workflows/protection/protection';
import { getJob } from '../../../src/core/jobs/jobs';
import { runStep } from '../../../src/core/jobs/run-step';
import { itemKeyFor } from '../../../src/core/store/layout';
import { memoryDeps, MIB, SUB } from '../../support/memory-deps';

// At-least-once queues deliver a message twice, sometimes at once. Both deliveries of one Register job must end
// it Completed (before, the one whose insert lost ended the job Failed AlreadyRegistered); a VM registered by
// another job is still refused.
describe('Register under duplicate deliveries (memory adapters)', () => {
  it('two concurrent deliveries of one Register job complete it once; another job for the same VM is refused', async () => {
    const s = memoryDeps();
    const vmId = s.cloud.createVm({ subscriptionId: SUB, resourceGroup: 'rg', name: 'dup1', disks: [{ name: 'dup1-os', sizeBytes: 32 * MIB, lun: -1 }] }).id;
    const [job] = await requestRegistration(s.deps, [vmId]);
    const deliver = (n: number) => runStep(s.deps, job!.jobId, { dequeueCount: n, maxDequeueCount: 1, step: 'register' }, () => registerStep(s.deps, { jobId: job!.jobId }));
    await Promise.all([deliver(1), deliver(1)]);
    await deliver(1); // and once more, after both
    const done = await getJob(s.deps, job!.jobId);
    expect(done.status, JSON.stringify(done.error)).toBe('Completed');
    expect((await s.deps.repos.items.get(itemKeyFor(vmId)))!.doc).toMatchObject({ vmName: 'dup1', registeredBy: job!.jobId });

    const [second] = await requestRegistration(s.deps, [vmId]);
    await runStep(s.deps, second!.jobId, { dequeueCount: 1, maxDequeueCount: 1, step: 'register' }, () => registerStep(s.deps, { jobId: second!.jobId })).catch(() => undefined);
    const refused = await getJob(s.deps, second!.jobId);
    expect(refused.status).toBe('Failed');
    expect(refused.error?.code).toBe('AlreadyRegistered');
  });
});
