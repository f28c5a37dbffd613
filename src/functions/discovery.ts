import { app } from '@azure/functions';
import { accepted, route } from './lib/http';
import { getDeps } from './lib/runtime';
import { requestDiscovery } from '../core/workflows/discovery/discovery';
import { API_AUTH_LEVEL } from './lib/auth';

// 202 with the job to follow; while a discovery is queued or running, that job (running: true) instead of a second.
app.http('discover', {
  methods: ['POST'],
  authLevel: API_AUTH_LEVEL,
  route: 'discovery',
  handler: route(async (req, _ctx, deps) => {
    const { job, running } = await requestDiscovery(deps, 'Api');
    return accepted(req, job.jobId, { running });
  }),
});

app.http('listVms', {
  methods: ['GET'],
  authLevel: API_AUTH_LEVEL,
  route: 'vms',
  handler: route(async (_req, _ctx, deps) => {
    const vms = await deps.repos.discovered.all();
    const items = new Map((await deps.repos.items.all()).map((i) => [i.itemKey, i]));
    return {
      jsonBody: {
        items: vms.map((v) => ({ ...v, registration: items.get(v.itemKey)?.state ?? 'NotRegistered', policyName: items.get(v.itemKey)?.policyName })),
      },
    };
  }),
});

app.timer('discoveryTimer', {
  schedule: '%VMBACKUP_DISCOVERY_CRON%',
  handler: async (_timer, ctx) => {
    const { job, running } = await requestDiscovery(await getDeps(), 'Scheduled');
    ctx.log(running ? `discovery: job ${job.jobId} is still running` : `discovery: job ${job.jobId} queued`);
  },
});
