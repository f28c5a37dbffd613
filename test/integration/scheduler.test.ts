import { describe, expect, it } from 'vitest';
import { MemoryTableFactory } from '../../src/core/adapters/memory/tables';
import { MemoryQueueFactory } from '../../src/core/adapters/memory/queues';
import { AzureTableFactory } from '../../src/core/adapters/azure/tables';
import { createRepos } from '../../src/core/store/repos';
import { RESEND_AFTER_MS, schedulerTick } from '../../src/core/workflows/protection/scheduler';
import { loadConfig, QUEUES } from '../../src/core/config';
import type { Deps } from '../../src/core/jobs/deps';
import type { TableFactory } from '../../src/core/ports/tables';
import { inject } from 'vitest';
import { uniqueTableName } from '../support/names';
import { silentLogger } from '../../src/core/ports/logger';

function depsWith(tables: TableFactory, queues: MemoryQueueFactory, now: Date): Deps {
  const config = loadConfig({ VMBACKUP_SUBSCRIPTION_IDS: 's', VMBACKUP_STORAGE: 'UseDevelopmentStorage=true' });
  return { config, repos: createRepos(tables, uniqueTableName('sch')), queues, clock: () => now, log: silentLogger } as unknown as Deps;
}

describe.each([
  ['memory tables', () => new MemoryTableFactory()],
  ['Azurite tables', () => AzureTableFactory.fromConnectionString(inject('azurite').connectionString)],
])('scheduler tick (%s)', (_n, tables) => {
  it('creates one job per item and slot, even with two concurrent ticks, and one catch-up after downtime', async () => {
    const queues = new MemoryQueueFactory();
    const now = new Date('2026-11-22T10:00:00Z');
    const deps = depsWith(tables(), queues, now);
    await deps.repos.ensure();
    await deps.repos.policies.insert({
      name: 'p',
      timeZone: 'Europe/Berlin',
      schedule: { frequency: 'Hourly', intervalHours: 1, windowStart: '00:00', windowHours: 24 },
      retention: { dailyDays: 7 },
      instantRestoreDays: 2,
      consistency: { mode: 'CrashConsistent', scriptTimeoutSeconds: 60 },
    });
    for (let i = 0; i < 5; i++) {
      await deps.repos.items.insert({
        itemKey: `vm;s;rg;vm${i}`,
        vmId: `/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/vm${i}`,
        vmName: `vm${i}`,
        resourceGroup: 'rg',
        subscriptionId: 's',
        location: 'w',
        osType: 'Linux',
        state: 'Protected',
        policyName: 'p',
        disks: [],
        createdAt: now,
        lastBackupAt: new Date('2026-11-20T00:00:00Z'),
      });
    }
    const [a, b] = await Promise.all([schedulerTick(deps, now), schedulerTick(deps, now)]);
    expect(a.jobsCreated + b.jobsCreated).toBe(5); // two days of missed hourly slots: one catch-up each
    const jobs = await deps.repos.jobs.all();
    expect(jobs).toHaveLength(5);
    expect(new Set(jobs.map((j) => j.params.slot))).toEqual(new Set(['2026-11-22T10:00:00.000Z']));
    // The losing tick found every job just created by the other one: nothing is sent twice.
    expect(queues.drain(QUEUES.snapshot)).toHaveLength(5);
    expect(a.jobsResent + b.jobsResent).toBe(0);
    // Suppose those messages were lost (a tick that died between insert and send). A tick a minute later
    // still leaves them to their creator; one past RESEND_AFTER_MS sends each once more.
    const soon = await schedulerTick(deps, new Date(now.getTime() + 60_000));
    expect([soon.jobsCreated, soon.jobsResent, queues.drain(QUEUES.snapshot).length]).toEqual([0, 0, 0]);
    const later = await schedulerTick(deps, new Date(now.getTime() + RESEND_AFTER_MS));
    expect([later.jobsCreated, later.jobsResent]).toEqual([0, 5]);
    expect(new Set(queues.drain(QUEUES.snapshot).map((m) => (m as { jobId: string }).jobId))).toEqual(new Set(jobs.map((j) => j.jobId)));
  });

  // Azure Backup: "An initial backup will run in accordance with your backup schedule" once protection is
  // enabled (MicrosoftDocs/azure-docs articles/backup/backup-azure-arm-vms-prepare.md): a slot that passed
  // before the item got its policy is not due; the next one is.
  it('skips the slot that passed before protection and schedules the next one', async () => {
    const queues = new MemoryQueueFactory();
    const protectedAt = new Date('2026-11-22T10:17:55Z');
    const deps = depsWith(tables(), queues, protectedAt);
    await deps.repos.ensure();
    await deps.repos.policies.insert({
      name: 'p',
      timeZone: 'UTC',
      schedule: { frequency: 'Hourly', intervalHours: 1, windowStart: '00:00', windowHours: 24 },
      retention: { dailyDays: 7 },
      instantRestoreDays: 2,
      consistency: { mode: 'CrashConsistent', scriptTimeoutSeconds: 60 },
    });
    await deps.repos.items.insert({
      itemKey: 'vm;s;rg;new',
      vmId: '/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/new',
      vmName: 'new',
      resourceGroup: 'rg',
      subscriptionId: 's',
      location: 'w',
      osType: 'Linux',
      state: 'ProtectionPending',
      policyName: 'p',
      disks: [],
      createdAt: protectedAt,
      protectedAt,
    });
    expect((await schedulerTick(deps, new Date('2026-11-22T10:18:00Z'))).jobsCreated).toBe(0);
    expect(queues.drain(QUEUES.snapshot)).toHaveLength(0);
    expect((await schedulerTick(deps, new Date('2026-11-22T11:00:00Z'))).jobsCreated).toBe(1);
    expect((await deps.repos.jobs.all()).map((j) => j.params.slot)).toEqual(['2026-11-22T11:00:00.000Z']);
  });
});
