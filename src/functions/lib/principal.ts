import { createHmac, timingSafeEqual } from 'node:crypto';
import { z } from 'zod';
import { ROLES, type Role } from './roles';

/**
 * The client principal App Service Authentication hands the app: base64 JSON { auth_typ, claims: [{ typ, val }],
 * name_typ, role_typ } in X-MS-CLIENT-PRINCIPAL
 * (https://learn.microsoft.com/azure/app-service/configure-authentication-user-identities#decoding-the-client-principal-header).
 * Entra ID app roles arrive as claims of type 'roles' (the token's claim name) even though role_typ names the
 * long URI, so both are read.
 */
export const PRINCIPAL_HEADER = 'x-ms-client-principal';
/** The local stack's stand-in for the platform's guarantee: an HMAC of the header value with a local-only key. */
export const SIGNATURE_HEADER = 'x-vmbackup-principal-signature';

const ROLE_URI = 'http://schemas.microsoft.com/ws/2008/06/identity/claims/role';
const NAME_TYPES = ['name', 'preferred_username', 'http://schemas.xmlsoap.org/ws/2005/05/identity/claims/name', 'http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress'];
const ID_TYPES = ['http://schemas.microsoft.com/identity/claims/objectidentifier', 'oid'];
// Far above any real principal (a token's claims), low enough that a huge forged header costs nothing.
const MAX_HEADER_CHARS = 32 * 1024;

const ClientPrincipal = z.object({
  auth_typ: z.string().max(100),
  claims: z.array(z.object({ typ: z.string().max(400), val: z.string().max(4000) })).max(1000),
  name_typ: z.string().max(400).optional(),
  role_typ: z.string().max(400).optional(),
});
export type ClientPrincipal = z.infer<typeof ClientPrincipal>;

export interface Principal {
  name: string;
  id?: string;
  identityProvider: string;
  roles: Role[];
}

/** The decoded principal, or undefined when the header is not a client principal at all. */
export function decodePrincipal(header: string): Principal | undefined {
  if (header.length > MAX_HEADER_CHARS) return undefined;
  let json: unknown;
  try {
    json = JSON.parse(Buffer.from(header, 'base64').toString('utf8'));
  } catch {
    return undefined;
  }
  const p = ClientPrincipal.safeParse(json);
  if (!p.success) return undefined;
  const { claims, name_typ, role_typ, auth_typ } = p.data;
  const first = (types: (string | undefined)[]): string | undefined => {
    for (const t of types) {
      const c = t ? claims.find((x) => x.typ === t) : undefined;
      if (c?.val) return c.val;
    }
    return undefined;
  };
  const roleTypes = new Set(['roles', ROLE_URI, ...(role_typ ? [role_typ] : [])]);
  const roles = ROLES.filter((r) => claims.some((c) => roleTypes.has(c.typ) && c.val === r));
  const id = first(ID_TYPES);
  return { name: first([name_typ, ...NAME_TYPES]) ?? id ?? 'unknown user', id, identityProvider: auth_typ, roles };
}

export function principalSignature(header: string, key: string): string {
  return createHmac('sha256', key).update(header).digest('base64url');
}

export function signatureMatches(header: string, signature: string, key: string): boolean {
  const want = Buffer.from(principalSignature(header, key));
  const got = Buffer.from(signature);
  return want.length === got.length && timingSafeEqual(want, got);
}

/** The headers of a local test principal: what App Service would inject, plus the local signature. */
export function signLocalPrincipal(p: { name: string; roles: string[]; id?: string }, key: string): Record<string, string> {
  const principal: ClientPrincipal = {
    auth_typ: 'aad',
    name_typ: 'http://schemas.xmlsoap.org/ws/2005/05/identity/claims/name',
    role_typ: ROLE_URI,
    claims: [
      { typ: 'http://schemas.xmlsoap.org/ws/2005/05/identity/claims/name', val: p.name },
      ...(p.id ? [{ typ: 'http://schemas.microsoft.com/identity/claims/objectidentifier', val: p.id }] : []),
      ...p.roles.map((r) => ({ typ: 'roles', val: r })),
    ],
  };
  const header = Buffer.from(JSON.stringify(principal)).toString('base64');
  return { [PRINCIPAL_HEADER]: header, [SIGNATURE_HEADER]: principalSignature(header, key) };
}
