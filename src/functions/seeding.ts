import { app } from '@azure/functions';
import { requestExport, requestImport } from '../core/workflows/seeding/seeding';
import { accepted, body, pathParam, route } from './lib/http';
import { ExportBody, ImportBody, ItemKey } from './lib/schemas';
import { API_AUTH_LEVEL } from './lib/auth';

app.http('exportItem', {
  methods: ['POST'],
  authLevel: API_AUTH_LEVEL,
  route: 'items/{itemKey}/export',
  handler: route(async (req, _ctx, deps) => {
    const itemKey = pathParam(req, 'itemKey', ItemKey);
    const b = await body(req, ExportBody);
    const job = await requestExport(deps, { itemKey, pointId: b.pointId, location: { kind: 'container', container: b.container, prefix: b.prefix } });
    return accepted(req, job.jobId);
  }),
});

app.http('importItem', {
  methods: ['POST'],
  authLevel: API_AUTH_LEVEL,
  route: 'items/{itemKey}/import',
  handler: route(async (req, _ctx, deps) => {
    const itemKey = pathParam(req, 'itemKey', ItemKey);
    const b = await body(req, ImportBody);
    const job = await requestImport(deps, { itemKey, location: { kind: 'container', container: b.container, prefix: b.prefix } });
    return accepted(req, job.jobId);
  }),
});
