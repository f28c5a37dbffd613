import type { HttpRequest } from '@azure/functions';
import { timingSafeEqual } from 'node:crypto';
import { authModeOf, type AuthConfig, type Config } from '../../core/config';
import { ForbiddenError, UnauthorizedError } from '../../core/errors';
import type { Deps } from '../../core/jobs/deps';
import { requireConfirmation } from '../../core/views/confirm';
import { decodePrincipal, PRINCIPAL_HEADER, SIGNATURE_HEADER, signatureMatches } from './principal';
import { ACTION_ROLES, ROLES, satisfies, type Requirement, type Role } from './roles';

/** Who is calling: a signed-in principal with its app roles, or a key (automation). */
export interface Caller {
  kind: 'principal' | 'key';
  name: string;
  id?: string;
  roles: Role[];
  /** The admin key (VMBACKUP_ADMIN_KEY) skips the two-step confirmation; nobody else does. */
  skipsConfirmation: boolean;
}

type Req = Pick<HttpRequest, 'headers' | 'query'>;

/**
 * The host's key check for the API routes. With principals (entra, local) the routes are anonymous to the host:
 * the Functions host demands a key even behind App Service Authentication
 * (https://github.com/Azure/azure-functions-host/issues/11394), so the app checks the principal or the key itself.
 */
export function apiAuthLevel(env: Record<string, string | undefined> = process.env): 'function' | 'anonymous' {
  return authModeOf(env) === 'keys' ? 'function' : 'anonymous';
}

/** Read once, when the app loads: registrations are fixed for the life of the worker. */
export const API_AUTH_LEVEL = apiAuthLevel();

const sameSecret = (a: string | undefined, b: string): boolean => {
  if (!a) return false;
  const x = Buffer.from(a),
    y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
};

const sentKey = (req: Req): string | undefined => req.headers.get('x-functions-key') ?? req.query.get('code') ?? undefined;

/** Whether the caller sent the key of VMBACKUP_ADMIN_KEY (operators set the host's master key). */
export function isAdminRequest(req: Req, config: Pick<Config, 'adminKey'>): boolean {
  const sent = sentKey(req);
  return !!sent && sameSecret(config.adminKey, sent);
}

const ALL_ROLES: Role[] = [...ROLES];

/** The caller of an API request, or 401 with a code that says what is missing. */
export function resolveCaller(req: Req, config: Pick<Config, 'adminKey' | 'auth'>): Caller {
  const admin = isAdminRequest(req, config);
  // keys: the host let the request in, so it carried a function or master key; keys act as Admin, as before.
  if (config.auth.mode === 'keys') return { kind: 'key', name: admin ? 'admin key' : 'function key', roles: ALL_ROLES, skipsConfirmation: admin };
  const key = sentKey(req);
  if (key !== undefined) {
    if (admin) return { kind: 'key', name: 'admin key', roles: ALL_ROLES, skipsConfirmation: true };
    if (sameSecret(config.auth.automationKey, key)) return { kind: 'key', name: 'automation key', roles: ALL_ROLES, skipsConfirmation: false };
    throw new UnauthorizedError(
      'The key sent (x-functions-key or ?code=) is not one this app accepts.',
      'InvalidKey',
      'Send the value of VMBACKUP_AUTOMATION_KEY (or the admin key), or sign in with Microsoft Entra ID.',
    );
  }
  const header = req.headers.get(PRINCIPAL_HEADER);
  if (!header) throw notSignedIn(config.auth);
  checkTrusted(req, header, config.auth);
  const p = decodePrincipal(header);
  if (!p)
    throw new UnauthorizedError(
      'The x-ms-client-principal header is not a base64 JSON client principal.',
      'InvalidPrincipal',
      'Sign in again; if it persists, check what sets the header in front of the app.',
    );
  return { kind: 'principal', name: p.name, id: p.id, roles: p.roles, skipsConfirmation: false };
}

/** The header is believed only when something the caller cannot forge stands behind it. */
function checkTrusted(req: Req, header: string, auth: AuthConfig): void {
  if (auth.mode === 'entra' && !auth.platformAuthEnabled) {
    throw new UnauthorizedError(
      'The x-ms-client-principal header is not trusted: App Service Authentication is not enabled on this app (WEBSITE_AUTH_ENABLED is not True), so any client could have written it.',
      'PrincipalNotTrusted',
      'Enable App Service Authentication with Microsoft Entra ID on the Function App (it then strips client-sent copies of the header), or call with a key.',
    );
  }
  if (auth.mode === 'local') {
    const sig = req.headers.get(SIGNATURE_HEADER);
    if (!sig || !auth.localPrincipalKey || !signatureMatches(header, sig, auth.localPrincipalKey)) {
      throw new UnauthorizedError(
        `The test principal is not signed with this app's VMBACKUP_LOCAL_PRINCIPAL_KEY (header ${SIGNATURE_HEADER}).`,
        'InvalidPrincipalSignature',
        'Sign the x-ms-client-principal value with HMAC-SHA256 and the local key (signLocalPrincipal in src/functions/lib/principal.ts).',
      );
    }
  }
}

function notSignedIn(auth: AuthConfig): UnauthorizedError {
  const loginUrl = auth.mode === 'entra' ? '/.auth/login/aad?post_login_redirect_uri=/api/ui/' : undefined;
  return new UnauthorizedError(
    'This route needs a signed-in user or a key; the request has neither.',
    'AuthenticationRequired',
    auth.mode === 'entra'
      ? `Sign in with Microsoft Entra ID at ${loginUrl}, or send a key in x-functions-key.`
      : 'Send a signed test principal (x-ms-client-principal and its signature) or a key in x-functions-key.',
    { authMode: auth.mode, ...(loginUrl ? { loginUrl } : {}) },
  );
}

/** 403 AuthorizationFailed unless the caller's roles allow `what` (a route's or an action's name). */
export function authorize(caller: Caller, needed: Requirement, what: string): void {
  if (satisfies(caller.roles, needed)) return;
  throw new ForbiddenError(
    'AuthorizationFailed',
    `'${caller.name}' may not ${what}: it needs the ${needed} role and has ${caller.roles.length ? caller.roles.join(', ') : 'no vmbackup role'}.`,
    `Ask an administrator to assign you the ${needed} app role of vmbackup (Entra ID: Enterprise applications > vmbackup > Users and groups), then sign in again.`,
    { requiredRole: needed, roles: caller.roles },
  );
}

/** The role an action of ACTION_ROLES needs; called before any lookup, so a 403 never reveals what exists. */
export function authorizeAction(caller: Caller, action: string): void {
  authorize(caller, ACTION_ROLES[action] ?? 'Admin', action);
}

/** A destructive action: the caller's role first (403), then the two-step confirmation (409). */
export function confirmDestructive(deps: Deps, caller: Caller, action: string, target: string, token: string | undefined): void {
  authorizeAction(caller, action);
  requireConfirmation(deps, action, target, token, caller.skipsConfirmation);
}
