import { app } from '@azure/functions';
import { accepted, body, idempotencyKey, query, pathParam, route } from './lib/http';
import { ItemKey, PageQuery, PointId, RestoreBody } from './lib/schemas';
import { pointView } from '../core/views/queries';
import { pointViewsWithInstant, pointViewWithInstant } from '../core/views/point-instant';
import { getPoint, requestRestore } from '../core/workflows/restore/restore';
import { deletePoint, undeletePoint } from '../core/workflows/protection/retention';
import { requestVerify } from '../core/workflows/verify/verify';
import { API_AUTH_LEVEL, authorizeAction, confirmDestructive } from './lib/auth';

app.http('listRecoveryPoints', {
  methods: ['GET'],
  authLevel: API_AUTH_LEVEL,
  route: 'items/{itemKey}/recoveryPoints',
  handler: route(async (req, _ctx, deps) => {
    const itemKey = pathParam(req, 'itemKey', ItemKey);
    const q = query(req, PageQuery);
    return { jsonBody: { items: await pointViewsWithInstant(deps, itemKey, q.includeDeleted === 'true') } };
  }),
});

app.http('getRecoveryPoint', {
  methods: ['GET'],
  authLevel: API_AUTH_LEVEL,
  route: 'items/{itemKey}/recoveryPoints/{pointId}',
  handler: route(async (req, _ctx, deps) => {
    return { jsonBody: await pointViewWithInstant(deps, pathParam(req, 'itemKey', ItemKey), pathParam(req, 'pointId', PointId)) };
  }),
});

app.http('restore', {
  methods: ['POST'],
  authLevel: API_AUTH_LEVEL,
  route: 'items/{itemKey}/recoveryPoints/{pointId}/restore',
  handler: route(async (req, _ctx, deps, caller) => {
    const itemKey = pathParam(req, 'itemKey', ItemKey);
    const pointId = pathParam(req, 'pointId', PointId);
    const b = await body(req, RestoreBody);
    if (b.mode === 'replaceDisks') authorizeAction(caller, 'restoreReplaceDisks');
    await getPoint(deps, itemKey, pointId);
    if (b.mode === 'replaceDisks') confirmDestructive(deps, caller, 'restoreReplaceDisks', `${itemKey}/${pointId}`, b.confirmationToken);
    const newVm = b.mode === 'newVm' ? { subnetId: b.subnetId!, vmSize: b.vmSize, targetSubscriptionId: b.targetSubscriptionId, targetLocation: b.targetLocation } : undefined;
    const job = await requestRestore(deps, { itemKey, pointId, mode: b.mode, targetResourceGroup: b.targetResourceGroup, source: b.source, newVm, idempotencyKey: idempotencyKey(req) });
    return accepted(req, job.jobId);
  }),
});

app.http('verifyRecoveryPoint', {
  methods: ['POST'],
  authLevel: API_AUTH_LEVEL,
  route: 'items/{itemKey}/recoveryPoints/{pointId}/verify',
  handler: route(async (req, _ctx, deps) => {
    const job = await requestVerify(deps, pathParam(req, 'itemKey', ItemKey), pathParam(req, 'pointId', PointId));
    return accepted(req, job.jobId);
  }),
});

app.http('undeleteRecoveryPoint', {
  methods: ['POST'],
  authLevel: API_AUTH_LEVEL,
  route: 'items/{itemKey}/recoveryPoints/{pointId}/undelete',
  handler: route(async (req, _ctx, deps) => {
    const p = await undeletePoint(deps, pathParam(req, 'itemKey', ItemKey), pathParam(req, 'pointId', PointId));
    return { jsonBody: pointView(p) };
  }),
});

app.http('deleteRecoveryPoint', {
  methods: ['DELETE'],
  authLevel: API_AUTH_LEVEL,
  route: 'items/{itemKey}/recoveryPoints/{pointId}',
  handler: route(async (req, _ctx, deps) => {
    const p = await deletePoint(deps, pathParam(req, 'itemKey', ItemKey), pathParam(req, 'pointId', PointId));
    return { jsonBody: pointView(p) };
  }),
});
