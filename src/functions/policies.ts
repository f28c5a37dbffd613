import { app } from '@azure/functions';
import { query, readJson, pathParam, route } from './lib/http';
import { DeletePolicyQuery, PolicyName } from './lib/schemas';
import { createPolicy, deletePolicy, getPolicy, updatePolicy } from '../core/workflows/protection/policies';
import { API_AUTH_LEVEL, confirmDestructive } from './lib/auth';
import { previewPolicy } from '../core/views/policy-preview';

app.http('createPolicy', {
  methods: ['POST'],
  authLevel: API_AUTH_LEVEL,
  route: 'policies',
  handler: route(async (req, _ctx, deps) => ({ status: 201, jsonBody: await createPolicy(deps, await readJson(req)) })),
});

app.http('listPolicies', {
  methods: ['GET'],
  authLevel: API_AUTH_LEVEL,
  route: 'policies',
  handler: route(async (_req, _ctx, deps) => ({ jsonBody: { items: await deps.repos.policies.all() } })),
});

app.http('getPolicy', {
  methods: ['GET'],
  authLevel: API_AUTH_LEVEL,
  route: 'policies/{name}',
  handler: route(async (req, _ctx, deps) => ({ jsonBody: await getPolicy(deps, pathParam(req, 'name', PolicyName)) })),
});

app.http('updatePolicy', {
  methods: ['PUT'],
  authLevel: API_AUTH_LEVEL,
  route: 'policies/{name}',
  handler: route(async (req, _ctx, deps) => ({ jsonBody: await updatePolicy(deps, pathParam(req, 'name', PolicyName), await readJson(req)) })),
});

app.http('deletePolicy', {
  methods: ['DELETE'],
  authLevel: API_AUTH_LEVEL,
  route: 'policies/{name}',
  handler: route(async (req, _ctx, deps, caller) => {
    const name = pathParam(req, 'name', PolicyName);
    const q = query(req, DeletePolicyQuery);
    await getPolicy(deps, name);
    confirmDestructive(deps, caller, 'deletePolicy', name, q.confirmationToken);
    await deletePolicy(deps, name);
    return { status: 204 };
  }),
});

app.http('previewPolicy', {
  methods: ['POST'],
  authLevel: API_AUTH_LEVEL,
  route: 'policies/preview',
  handler: route(async (req, _ctx, deps) => ({ jsonBody: previewPolicy(deps, await readJson(req)) })),
});
