import { app } from '@azure/functions';
import { getDeps } from './lib/runtime';
import { schedulerTick } from '../core/services/scheduler';
import { retentionRun } from '../core/services/retention';

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
