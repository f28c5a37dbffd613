import { app } from '@azure/functions';
import { body, idempotencyKey, pathParam, route } from './lib/http';
import { ItemKey, JobId, MountBody, PointId } from './lib/schemas';
import { getMount, mountView, requestMount, requestUnmount } from '../core/workflows/mount/mount';
import { API_AUTH_LEVEL } from './lib/auth';

app.http('mountRecoveryPoint', {
  methods: ['POST'],
  authLevel: API_AUTH_LEVEL,
  route: 'items/{itemKey}/recoveryPoints/{pointId}/mount',
  handler: route(async (req, _ctx, deps) => {
    const itemKey = pathParam(req, 'itemKey', ItemKey);
    const pointId = pathParam(req, 'pointId', PointId);
    const b = await body(req, MountBody);
    const job = await requestMount(deps, { itemKey, pointId, helperVmId: b.helperVmId, durationMinutes: b.durationMinutes, idempotencyKey: idempotencyKey(req) });
    const mount = await mountView(deps, job);
    return { status: 202, headers: { Location: `${new URL(req.url).origin}/api/mounts/${job.jobId}` }, jsonBody: { jobId: job.jobId, ...mount } };
  }),
});

app.http('getMount', {
  methods: ['GET'],
  authLevel: API_AUTH_LEVEL,
  route: 'mounts/{mountId}',
  handler: route(async (req, _ctx, deps) => ({ jsonBody: await getMount(deps, pathParam(req, 'mountId', JobId)) })),
});

// A POST action rather than DELETE: the mount stays readable after it (state Unmounted, when and why), the work
// is asynchronous (202 while the disks are detached and deleted), and ARM names its own such actions as POSTs.
app.http('unmountRecoveryPoint', {
  methods: ['POST'],
  authLevel: API_AUTH_LEVEL,
  route: 'mounts/{mountId}/unmount',
  handler: route(async (req, _ctx, deps) => ({ status: 202, jsonBody: await requestUnmount(deps, pathParam(req, 'mountId', JobId)) })),
});
