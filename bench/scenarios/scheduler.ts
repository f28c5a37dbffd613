import { QueueServiceClient } from '@azure/storage-queue';
import type { PipelinePolicy } from '@azure/core-rest-pipeline';
import { AdaptiveLimiter } from '../../src/core/engine/pacer';
import { runPool } from '../../src/core/engine/copy-segment';
import { schedulerTick } from '../../src/core/workflows/protection/scheduler';
import { QUEUES } from '../../src/core/config';
import { DAY_MS } from '../../src/core/domain/time';
import { paramsOf } from '../../src/core/jobs/params';
import { backupParams } from '../../src/core/workflows/backup/params';
import { localApp } from '../../src/local/app-stack';
import { row, type BenchContext, type Row, type Scenario } from '../context';
import { timed } from '../support';
import { silentLogger } from '../../src/core/ports/logger';

/** Counts requests per service and method, as the storage account's metrics would. */
function counter(): { policy: PipelinePolicy; counts: Map<string, number>; reset(): void; total(prefix: string): number } {
  const counts = new Map<string, number>();
  return {
    counts,
    policy: {
      name: 'benchRequestCounter',
      sendRequest(req, next) {
        const key = `${req.url.includes('/messages') ? 'queue' : 'table'} ${req.method}`;
        counts.set(key, (counts.get(key) ?? 0) + 1);
        return next(req);
      },
    },
    reset: () => counts.clear(),
    total: (prefix) => [...counts].filter(([k]) => k.startsWith(prefix)).reduce((n, [, v]) => n + v, 0),
  };
}

/** Policies and items as the services store them, all due now; then two scheduler ticks at once. */
export const scheduler: Scenario = {
  id: '7',
  title: 'scheduler fan-out',
  async run(ctx: BenchContext): Promise<Row[]> {
    // --quick: 2,000 items under 50 policies (seeding 10,000 rows alone takes most of its budget); --smoke: 100
    // items under 5 policies, so the two ticks still race over the same due slots.
    const itemCount = ctx.pick({ full: 10_000, quick: 2_000, smoke: 100 });
    const policyCount = ctx.pick({ full: 50, quick: 50, smoke: 5 });
    const label = `7 scheduler ${itemCount.toLocaleString('en-US')} items, ${policyCount} policies`;
    const count = counter();
    const cs = ctx.azurite.connectionString;
    const now = new Date('2026-11-22T10:00:00Z');
    // Protected the day before: the scheduler takes only slots after protection began (Azure Backup's first
    // backup follows the schedule), so today's 09:00 slot is due for every item.
    const protectedAt = new Date(now.getTime() - DAY_MS);
    // The app's own clients, as the local stacks build them; only tables and queues are used here.
    const deps = localApp(ctx.azurite, ctx.emu, { subscriptionId: 's', clock: () => now, log: silentLogger, caPrefix: 'bench-' }).makeDeps([count.policy]);
    await deps.repos.ensure();
    await deps.queues.queue(QUEUES.snapshot).ensure();
    for (let p = 0; p < policyCount; p++) {
      await deps.repos.policies.insert({
        name: `p${p}`,
        timeZone: 'UTC',
        schedule: { frequency: 'Daily', times: ['09:00'] },
        retention: { dailyDays: 7 },
        instantRestoreDays: 2,
        consistency: { mode: 'CrashConsistent', scriptTimeoutSeconds: 60 },
      } as never);
    }
    await runPool(
      Array.from({ length: itemCount }, (_, i) => i),
      new AdaptiveLimiter(32),
      async (i) => {
        await deps.repos.items.insert({
          itemKey: `vm;s;rg;vm${i}`,
          vmId: `/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/vm${i}`,
          vmName: `vm${i}`,
          resourceGroup: 'rg',
          subscriptionId: 's',
          location: 'w',
          osType: 'Linux',
          state: 'Protected',
          policyName: `p${i % policyCount}`,
          disks: [],
          createdAt: protectedAt,
          protectedAt,
        } as never);
      },
    );
    count.reset();
    const t = await timed(() => Promise.all([schedulerTick(deps, now), schedulerTick(deps, now)]));
    const [a, b] = t.value;
    const jobs = await deps.repos.jobs.all();
    const distinct = new Set(jobs.map((j) => `${j.itemKey} ${paramsOf(j, backupParams).slot}`)).size;
    const messages = (await QueueServiceClient.fromConnectionString(cs).getQueueClient(QUEUES.snapshot).getProperties()).approximateMessagesCount ?? -1;
    const created = a.jobsCreated + b.jobsCreated;
    return [
      row(label, 'two concurrent ticks: time until every job is enqueued', t.ms / 1000, 's', 2),
      row(label, 'jobs created (both ticks together)', created, '', 0, { text: `= ${itemCount}`, met: created === itemCount }),
      row(label, 'duplicate jobs (job rows minus distinct item+slot)', jobs.length - distinct, '', 0, { text: '0', met: jobs.length === distinct && distinct === itemCount }),
      row(label, 'snapshot messages sent (one per job: the other tick re-sends none)', messages, '', 0, { text: `= ${itemCount}`, met: messages === itemCount }),
      row(label, 'table requests', count.total('table'), '', 0),
      row(label, 'queue requests', count.total('queue'), '', 0),
      row(label, 'enqueued jobs per second', created / (t.ms / 1000), 'jobs/s', 0),
    ];
  },
};
