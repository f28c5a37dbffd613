import { app } from '@azure/functions';
import { depsFor } from './lib/runtime';
import { schedulerTick } from '../core/workflows/protection/scheduler';
import { retentionRun } from '../core/workflows/protection/retention';
import { reconcile } from '../core/jobs/reconciler';
import { alertSweep } from '../core/ops/sweep';

app.timer('scheduler', {
  schedule: '%VMBACKUP_SCHEDULER_CRON%',
  handler: async (_timer, ctx) => {
    const r = await schedulerTick(await depsFor(ctx));
    ctx.log(`scheduler: ${r.jobsCreated} backup job(s) created, ${r.jobsResent} re-sent, ${r.itemsDue} item(s) due`);
  },
});

app.timer('retention', {
  schedule: '%VMBACKUP_RETENTION_CRON%',
  handler: async (_timer, ctx) => {
    const r = await retentionRun(await depsFor(ctx));
    ctx.log(`retention: ${r.softDeleted} soft-deleted, ${r.purged} purged, ${r.sourceSnapshotsDeleted} source snapshot(s) deleted`);
  },
});

app.timer('reconciler', {
  schedule: '%VMBACKUP_RECONCILE_CRON%',
  handler: async (_timer, ctx) => {
    const r = await reconcile(await depsFor(ctx));
    ctx.log(
      `reconciler: ${r.jobsRedriven} job(s) re-driven, ${r.jobsAbandoned} abandoned, ${r.locksFreed} lock(s) freed, ${r.snapshotsDeleted} orphaned snapshot(s) deleted, ${r.snapshotsRevoked} revoked`,
    );
  },
});

// On the reconciler's schedule: missed backups, soft-deleted and purged points, and alerts the webhook has not
// taken yet (a failed job's alert is raised when the job ends; this retries it).
app.timer('alerts', {
  schedule: '%VMBACKUP_RECONCILE_CRON%',
  handler: async (_timer, ctx) => {
    const r = await alertSweep(await depsFor(ctx));
    ctx.log(`alerts: ${r.raised} raised, ${r.delivered} delivered, ${r.pending} waiting for the webhook`);
  },
});
