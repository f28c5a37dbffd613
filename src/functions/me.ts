import { app } from '@azure/functions';
import { route } from './lib/http';
import { API_AUTH_LEVEL } from './lib/auth';
import { ACTION_ROLES, ROUTE_ROLES, satisfies } from './lib/roles';

/**
 * Who the caller is and what it may do, so the dashboard shows the signed-in user and disables what the role
 * cannot do (the API refuses those anyway).
 */
app.http('me', {
  methods: ['GET'],
  authLevel: API_AUTH_LEVEL,
  route: 'me',
  handler: route(async (_req, _ctx, deps, caller) => {
    const can = Object.fromEntries([...Object.entries(ROUTE_ROLES), ...Object.entries(ACTION_ROLES)].map(([what, needed]) => [what, satisfies(caller.roles, needed)]));
    return { jsonBody: { name: caller.name, kind: caller.kind, roles: caller.roles, authMode: deps.config.auth.mode, can } };
  }),
});
