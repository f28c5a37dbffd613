import { describe, expect, it } from 'vitest';
import { loadConfig, type Config } from '../../src/core/config';
import { errorBody, httpStatusFor } from '../../src/core/errors';
import { apiAuthLevel, authorize, resolveCaller, type Caller } from '../../src/functions/lib/auth';
import { decodePrincipal, PRINCIPAL_HEADER, SIGNATURE_HEADER, signLocalPrincipal } from '../../src/functions/lib/principal';
import { requirementOf, satisfies } from '../../src/functions/lib/roles';

const LOCAL_KEY = 'local-principal-key-for-unit-tests-0001';
const AUTOMATION = 'automation-key-for-unit-tests-000000001';
const BASE = { VMBACKUP_SUBSCRIPTION_IDS: 's', VMBACKUP_STORAGE: 'UseDevelopmentStorage=true' };
const config = (env: Record<string, string>): Config => loadConfig({ ...BASE, ...env });
const req = (headers: Record<string, string> = {}, query: Record<string, string> = {}) => ({ headers: new Headers(headers), query: new URLSearchParams(query) }) as never;
const refusal = (f: () => unknown): { status: number; code: string } => {
  try {
    f();
  } catch (err) {
    return { status: httpStatusFor(err), code: errorBody(err).error.code };
  }
  throw new Error('expected a refusal');
};
const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64');

describe('the client principal (App Service Authentication, configure-authentication-user-identities)', () => {
  it('reads the documented shape: the name by name_typ, app roles from "roles" claims and from role_typ', () => {
    const header = b64({
      auth_typ: 'aad',
      name_typ: 'http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress',
      role_typ: 'http://schemas.microsoft.com/ws/2008/06/identity/claims/role',
      claims: [
        { typ: 'http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress', val: 'ana@contoso.example' },
        { typ: 'http://schemas.microsoft.com/identity/claims/objectidentifier', val: 'oid-1' },
        { typ: 'roles', val: 'Operator' },
        { typ: 'http://schemas.microsoft.com/ws/2008/06/identity/claims/role', val: 'Reader' },
        { typ: 'roles', val: 'SomeOtherAppRole' },
      ],
    });
    expect(decodePrincipal(header)).toEqual({ name: 'ana@contoso.example', id: 'oid-1', identityProvider: 'aad', roles: ['Reader', 'Operator'] });
  });

  it('is nothing when the header is not base64 JSON of that shape', () => {
    expect(decodePrincipal('not base64 json')).toBeUndefined();
    expect(decodePrincipal(b64({ claims: 'x' }))).toBeUndefined();
    expect(decodePrincipal(b64({ auth_typ: 'aad', claims: [{ typ: 'roles', val: 'Admin' }] }))?.roles).toEqual(['Admin']);
  });
});

describe('who is calling', () => {
  it('keys mode: the host checked the key, every caller acts as Admin; only the admin key skips confirmation; principals are ignored', () => {
    const c = config({ VMBACKUP_ADMIN_KEY: 'the-admin-key' });
    const forged = signLocalPrincipal({ name: 'eve', roles: ['Reader'] }, LOCAL_KEY);
    expect(resolveCaller(req({ 'x-functions-key': 'fk', ...forged }), c)).toMatchObject({ kind: 'key', roles: ['Reader', 'Operator', 'Admin'], skipsConfirmation: false });
    expect(resolveCaller(req({}, { code: 'the-admin-key' }), c).skipsConfirmation).toBe(true);
    expect(apiAuthLevel({})).toBe('function');
    expect(apiAuthLevel({ VMBACKUP_AUTH_MODE: 'typo' })).toBe('function');
    expect(apiAuthLevel({ VMBACKUP_AUTH_MODE: 'entra' })).toBe('anonymous');
  });

  it('local mode: a principal counts only with the signature of the local key', () => {
    const c = config({ VMBACKUP_AUTH_MODE: 'local', VMBACKUP_LOCAL_PRINCIPAL_KEY: LOCAL_KEY });
    const signed = signLocalPrincipal({ name: 'ana', roles: ['Operator'] }, LOCAL_KEY);
    expect(resolveCaller(req(signed), c)).toMatchObject({ kind: 'principal', name: 'ana', roles: ['Operator'] });
    const wrongKey = signLocalPrincipal({ name: 'ana', roles: ['Admin'] }, `${LOCAL_KEY}x`);
    expect(refusal(() => resolveCaller(req(wrongKey), c))).toEqual({ status: 401, code: 'InvalidPrincipalSignature' });
    // The signature is of the exact header: raising the roles in the header breaks it.
    const raised = { ...signed, [PRINCIPAL_HEADER]: signLocalPrincipal({ name: 'ana', roles: ['Admin'] }, LOCAL_KEY)[PRINCIPAL_HEADER]! };
    expect(refusal(() => resolveCaller(req(raised), c)).code).toBe('InvalidPrincipalSignature');
    expect(refusal(() => resolveCaller(req({ [PRINCIPAL_HEADER]: signed[PRINCIPAL_HEADER]! }), c)).code).toBe('InvalidPrincipalSignature');
    expect(refusal(() => resolveCaller(req(), c))).toEqual({ status: 401, code: 'AuthenticationRequired' });
  });

  it('entra mode: the header is trusted only with WEBSITE_AUTH_ENABLED=True; keys are the app-checked ones', () => {
    const header = {
      [PRINCIPAL_HEADER]: b64({
        auth_typ: 'aad',
        claims: [
          { typ: 'name', val: 'bo' },
          { typ: 'roles', val: 'Reader' },
        ],
      }),
    };
    const off = config({ VMBACKUP_AUTH_MODE: 'entra' });
    expect(refusal(() => resolveCaller(req(header), off))).toEqual({ status: 401, code: 'PrincipalNotTrusted' });
    const on = config({ VMBACKUP_AUTH_MODE: 'entra', WEBSITE_AUTH_ENABLED: 'True', VMBACKUP_AUTOMATION_KEY: AUTOMATION });
    expect(resolveCaller(req(header), on)).toMatchObject({ kind: 'principal', name: 'bo', roles: ['Reader'] });
    // The signature header means nothing in Azure: the platform stands behind the header, not a local key.
    expect(resolveCaller(req({ ...header, [SIGNATURE_HEADER]: 'junk' }), on).name).toBe('bo');
    expect(resolveCaller(req({ 'x-functions-key': AUTOMATION }), on)).toMatchObject({ kind: 'key', name: 'automation key', skipsConfirmation: false });
    expect(refusal(() => resolveCaller(req({ 'x-functions-key': 'a-host-key-the-app-cannot-check' }), on))).toEqual({ status: 401, code: 'InvalidKey' });
    expect(refusal(() => resolveCaller(req({ [PRINCIPAL_HEADER]: 'garbage' }), on))).toEqual({ status: 401, code: 'InvalidPrincipal' });
  });

  it('refuses local mode on App Service and without its key, and short secrets', () => {
    expect(() => config({ VMBACKUP_AUTH_MODE: 'local' })).toThrow(/VMBACKUP_LOCAL_PRINCIPAL_KEY: is required/);
    expect(() => config({ VMBACKUP_AUTH_MODE: 'local', VMBACKUP_LOCAL_PRINCIPAL_KEY: LOCAL_KEY, WEBSITE_SITE_NAME: 'app' })).toThrow(/local is for the local stack only/);
    expect(() => config({ VMBACKUP_AUTOMATION_KEY: 'short' })).toThrow(/VMBACKUP_AUTOMATION_KEY: must be at least 32/);
    expect(config({ VMBACKUP_AUTOMATION_KEY: '' }).auth.automationKey).toBeUndefined();
  });
});

describe('roles', () => {
  const as = (roles: Caller['roles']): Caller => ({ kind: 'principal', name: 'u', roles, skipsConfirmation: false });
  it('nest (Admin > Operator > Reader), and a route missing from the table needs Admin', () => {
    expect(satisfies(['Admin'], 'Reader')).toBe(true);
    expect(satisfies(['Reader'], 'Operator')).toBe(false);
    expect(satisfies([], 'authenticated')).toBe(true);
    expect(requirementOf('aRouteNobodyListed')).toBe('Admin');
    expect(requirementOf('toString')).toBe('Admin');
    expect(refusal(() => authorize(as(['Operator']), requirementOf('deletePolicy'), 'deletePolicy'))).toEqual({ status: 403, code: 'AuthorizationFailed' });
    expect(refusal(() => authorize(as([]), 'Reader', 'listItems'))).toEqual({ status: 403, code: 'AuthorizationFailed' });
  });
});
