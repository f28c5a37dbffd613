import { app } from '@azure/functions';
import { route } from './lib/http';
import { getDeps } from './lib/runtime';
import { runDiscovery } from '../core/workflows/protection/discovery';
import { API_AUTH_LEVEL } from './lib/auth';

app.http('discover', {
  methods: ['POST'], authLevel: API_AUTH_LEVEL, route: 'discovery',
  handler: route(async (_req, _ctx, deps) => ({ jsonBody: await runDiscovery(deps) })),
});

app.http('listVms', {
  methods: ['GET'], authLevel: API_AUTH_LEVEL, route: 'vms',
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
    const r = await runDiscovery(await getDeps());
    ctx.log(`discovery: ${r.vms} VMs, ${r.autoRegistered.length} registered by tag`);
  },
});
