import { app } from '@azure/functions';

import { accepted, body, idempotencyKey, query, pathParam, route } from './lib/http';
import { BackupNowBody, ItemKey, PageQuery, ProtectBody, RegisterBody, StopProtectionBody } from './lib/schemas';
import { backupNow, requestProtection, requestRegistration, stopProtection } from '../core/workflows/protection/protection';
import { getItem, itemView } from '../core/views/queries';
import { paramsOf } from '../core/jobs/params';
import { registerParams } from '../core/workflows/protection/params';
import { API_AUTH_LEVEL, authorizeAction, confirmDestructive } from './lib/auth';

app.http('registerVms', {
  methods: ['POST'],
  authLevel: API_AUTH_LEVEL,
  route: 'items/register',
  handler: route(async (req, _ctx, deps) => {
    const b = await body(req, RegisterBody);
    const jobs = await requestRegistration(deps, b.vmIds, b.policyName);
    return { status: 202, jsonBody: { jobs: jobs.map((j) => ({ jobId: j.jobId, itemKey: j.itemKey, vmId: paramsOf(j, registerParams).vmId })) } };
  }),
});

app.http('protectItems', {
  methods: ['POST'],
  authLevel: API_AUTH_LEVEL,
  route: 'items/protect',
  handler: route(async (req, _ctx, deps) => {
    const b = await body(req, ProtectBody);
    const jobs = await requestProtection(deps, b.itemKeys, b.policyName);
    return { status: 202, jsonBody: { jobs: jobs.map((j) => ({ jobId: j.jobId, itemKey: j.itemKey })) } };
  }),
});

app.http('listItems', {
  methods: ['GET'],
  authLevel: API_AUTH_LEVEL,
  route: 'items',
  handler: route(async (req, _ctx, deps) => {
    query(req, PageQuery);
    const items = await deps.repos.items.all();
    return { jsonBody: { items: items.map((i) => itemView(i, deps.clock())) } };
  }),
});

app.http('getItem', {
  methods: ['GET'],
  authLevel: API_AUTH_LEVEL,
  route: 'items/{itemKey}',
  handler: route(async (req, _ctx, deps) => {
    const itemKey = pathParam(req, 'itemKey', ItemKey);
    return { jsonBody: itemView(await getItem(deps, itemKey), deps.clock()) };
  }),
});

app.http('backupNow', {
  methods: ['POST'],
  authLevel: API_AUTH_LEVEL,
  route: 'items/{itemKey}/backup',
  handler: route(async (req, _ctx, deps) => {
    const itemKey = pathParam(req, 'itemKey', ItemKey);
    const b = await body(req, BackupNowBody);
    const job = await backupNow(deps, itemKey, b.retainUntil ? new Date(b.retainUntil) : undefined, idempotencyKey(req));
    return accepted(req, job.jobId);
  }),
});

app.http('stopProtection', {
  methods: ['POST'],
  authLevel: API_AUTH_LEVEL,
  route: 'items/{itemKey}/stop',
  handler: route(async (req, _ctx, deps, caller) => {
    const itemKey = pathParam(req, 'itemKey', ItemKey);
    const b = await body(req, StopProtectionBody);
    if (b.deleteData) authorizeAction(caller, 'stopProtectionDeleteData');
    await getItem(deps, itemKey);
    if (b.deleteData) confirmDestructive(deps, caller, 'stopProtectionDeleteData', itemKey, b.confirmationToken);
    const item = await stopProtection(deps, itemKey, b.deleteData);
    return { jsonBody: itemView(item, deps.clock()) };
  }),
});
