import { app } from '@azure/functions';
import { query, pathParam, route } from './lib/http';
import { JobId, JobsQuery } from './lib/schemas';
import { jobDetails, jobView, listJobs, dashboard } from '../core/views/queries';
import { requestCancel } from '../core/jobs/run-step';
import { API_AUTH_LEVEL } from './lib/auth';

app.http('listJobs', {
  methods: ['GET'],
  authLevel: API_AUTH_LEVEL,
  route: 'jobs',
  handler: route(async (req, _ctx, deps) => {
    const q = query(req, JobsQuery);
    const page = await listJobs(deps, { ...q, from: q.from ? new Date(q.from) : undefined, to: q.to ? new Date(q.to) : undefined });
    return { jsonBody: { items: page.items.map((j) => jobView(j, deps.clock(), !!deps.kinds.of(j.type)?.cancellable)), continuation: page.continuation } };
  }),
});

app.http('getJob', {
  methods: ['GET'],
  authLevel: API_AUTH_LEVEL,
  route: 'jobs/{jobId}',
  handler: route(async (req, _ctx, deps) => ({ jsonBody: await jobDetails(deps, pathParam(req, 'jobId', JobId)) })),
});

app.http('cancelJob', {
  methods: ['POST'],
  authLevel: API_AUTH_LEVEL,
  route: 'jobs/{jobId}/cancel',
  handler: route(async (req, _ctx, deps) => {
    const job = await requestCancel(deps, pathParam(req, 'jobId', JobId));
    return { status: 202, jsonBody: jobView(job, deps.clock(), !!deps.kinds.of(job.type)?.cancellable) };
  }),
});

app.http('dashboard', {
  methods: ['GET'],
  authLevel: API_AUTH_LEVEL,
  route: 'dashboard',
  handler: route(async (_req, _ctx, deps) => ({ jsonBody: await dashboard(deps) })),
});
