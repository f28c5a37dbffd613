import { app } from '@azure/functions';
import { getDeps } from './lib/runtime';
import { schedulerTick } from '../core/workflows/protection/scheduler';
import { retentionRun } from '../core/workflows/protection/retention';
import { reconcile } from '../core/jobs/reconciler';

app.timer('scheduler', {
  schedule: '%VMBACKUP_SCHEDULER_CRON%',
  handler: async (_timer, ctx) => {
    const r = await schedulerTick(await getDeps());
    ctx.log(`scheduler: ${r.jobsCreated} backup job(s) created, ${r.jobsResent} re-sent, ${r.itemsDue} item(s) due`);
  },
});

app.timer('retention', {
  schedule: '%VMBACKUP_RETENTION_CRON%',
  handler: async (_timer, ctx) => {
    const r = await retentionRun(await getDeps());
    ctx.log(`retention: ${r.softDeleted} soft-deleted, ${r.purged} purged, ${r.sourceSnapshotsDeleted} source snapshot(s) deleted`);
  },
});

app.timer('reconciler', {
  schedule: '%VMBACKUP_RECONCILE_CRON%',
  handler: async (_timer, ctx) => {
    const r = await reconcile(await getDeps());
    ctx.log(`reconciler: ${r.jobsRedriven} job(s) re-driven, ${r.jobsAbandoned} abandoned, ${r.locksFreed} lock(s) freed, ${r.snapshotsDeleted} orphaned snapshot(s) deleted, ${r.snapshotsRevoked} revoked`);
  },
});
