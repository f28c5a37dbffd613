import { describe, expect, it } from 'vitest';
import { MemoryTableFactory } from '../../src/core/adapters/memory/tables';
import { MemoryQueueFactory } from '../../src/core/adapters/memory/queues';
import { createRepos } from '../../src/core/store/repos';
import { schedulerTick } from '../../src/core/workflows/protection/scheduler';
import { newJobId } from '../../src/core/jobs/jobs';
import { loadConfig } from '../../src/core/config';
import type { Deps } from '../../src/core/jobs/deps';
import { silentLogger } from '../../src/core/ports/logger';

const HOUR = 3_600_000;

async function stack(now: Date, lastBackupAt?: Date, lastTrigger: 'OnDemand' | 'Scheduled' = 'OnDemand'): Promise<Deps> {
  const config = loadConfig({ VMBACKUP_SUBSCRIPTION_IDS: 's', VMBACKUP_STORAGE: 'UseDevelopmentStorage=true' });
  const deps = { config, repos: createRepos(new MemoryTableFactory(), 'slots'), queues: new MemoryQueueFactory(), clock: () => now, log: silentLogger } as unknown as Deps;
  await deps.repos.ensure();
  // Every 4 hours from 00:00 UTC: slots at 00:00, 04:00, 08:00, ...
  await deps.repos.policies.insert({
    name: 'p',
    timeZone: 'UTC',
    schedule: { frequency: 'Hourly', intervalHours: 4, windowStart: '00:00', windowHours: 24 },
    retention: { dailyDays: 7 },
    instantRestoreDays: 2,
    consistency: { mode: 'CrashConsistent', scriptTimeoutSeconds: 60 },
  });
  // The newest point and its backup job (a point's id is its job's id).
  const lastRecoveryPointId = lastBackupAt ? newJobId(lastBackupAt) : undefined;
  if (lastRecoveryPointId)
    await deps.repos.jobs.insert({
      jobId: lastRecoveryPointId,
      type: 'Backup',
      status: 'Completed',
      itemKey: 'vm;s;rg;a',
      trigger: lastTrigger,
      createdAt: lastBackupAt!,
      bytesTotal: 0,
      bytesDone: 0,
      segmentsTotal: 0,
      segmentsDone: 0,
      warnings: [],
      params: {},
      result: {},
    });
  await deps.repos.items.insert({
    itemKey: 'vm;s;rg;a',
    vmId: '/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/a',
    vmName: 'a',
    resourceGroup: 'rg',
    subscriptionId: 's',
    location: 'w',
    osType: 'Linux',
    state: 'Protected',
    policyName: 'p',
    disks: [],
    createdAt: new Date(0),
    lastBackupAt,
    lastRecoveryPointId,
  });
  return deps;
}

describe('scheduler slots', () => {
  it('gives a scheduled job an id that sorts by its creation time, so GET /jobs stays newest first', async () => {
    const now = new Date('2026-11-22T10:30:00Z'); // the due slot is 08:00, long before the tick
    const deps = await stack(now, new Date('2026-11-21T00:00:00Z'));
    const earlier = newJobId(new Date(now.getTime() - 60_000)); // e.g. a register job a minute before the tick
    expect((await schedulerTick(deps, now)).jobsCreated).toBe(1);
    const [job] = (await deps.repos.jobs.all()).filter((j) => j.trigger === 'Scheduled');
    expect(job!.params.slot).toBe('2026-11-22T08:00:00.000Z');
    expect(job!.jobId < earlier, `${job!.jobId} sorts before ${earlier}`).toBe(true);
    // A second tick for the same slot meets the same job through its claim.
    expect((await schedulerTick(deps, new Date(now.getTime() + 5_000))).jobsCreated).toBe(0);
    expect((await deps.repos.jobs.all()).filter((j) => j.trigger === 'Scheduled')).toHaveLength(1);
  });

  it("counts a backup now taken within half the slot interval before the slot as that slot's backup, a late scheduled one not", async () => {
    const slot = new Date('2026-11-22T08:00:00Z');
    const covered = await stack(new Date(slot.getTime() + 60_000), new Date(slot.getTime() - 2 * HOUR + 1));
    expect((await schedulerTick(covered)).jobsCreated).toBe(0);
    const notCovered = await stack(new Date(slot.getTime() + 60_000), new Date(slot.getTime() - 2 * HOUR - 1));
    expect((await schedulerTick(notCovered)).jobsCreated).toBe(1);
    // A scheduled catch-up just as close stands for its own slot only.
    const catchUp = await stack(new Date(slot.getTime() + 60_000), new Date(slot.getTime() - HOUR), 'Scheduled');
    expect((await schedulerTick(catchUp)).jobsCreated).toBe(1);
  });
});
