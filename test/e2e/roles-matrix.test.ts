import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHostStack, TEST_KEYS, type HostStack } from '../support/host-stack';
import { signLocalPrincipal } from '../../src/functions/lib/principal';
import { AUTOMATION_KEY, LOCAL_AUTH, principal } from '../support/principals';
import { requirementOf, ROUTE_ROLES, satisfies, type Role } from '../../src/functions/lib/roles';

type CallerName = 'anonymous' | Role | 'automation key' | 'host function key';
const CALLERS: Record<CallerName, { roles: Role[]; headers: Record<string, string> }> = {
  anonymous: { roles: [], headers: {} },
  Reader: { roles: ['Reader'], headers: principal('rita@contoso.example', ['Reader']) },
  Operator: { roles: ['Operator'], headers: principal('otto@contoso.example', ['Operator']) },
  Admin: { roles: ['Admin'], headers: principal('ada@contoso.example', ['Admin']) },
  'automation key': { roles: ['Reader', 'Operator', 'Admin'], headers: { 'x-functions-key': AUTOMATION_KEY } },
  // With principals on, the routes are anonymous to the host, so a host key is one the app cannot check.
  'host function key': { roles: [], headers: { 'x-functions-key': TEST_KEYS.FUNCTIONS_FUNCTION_KEY } },
};

// Values that pass or fail validation but never name anything that exists: an allowed call changes nothing.
const PARAMS: Record<string, string> = {
  itemKey: encodeURIComponent('vm;00000000-0000-0000-0000-000000000001;matrix;no-such-vm'),
  pointId: '0000000000000001-nosuchpoint',
  jobId: '0000000000000001-nosuchjob',
  name: 'no-such-policy',
  '*path': 'index.html',
};

/** What a cell should be: 'allowed' (the handler ran: any status but 401, 403 or a 5xx) or the refusal. */
function expected(route: string, caller: CallerName): string {
  const needed = requirementOf(route);
  if (needed === 'anonymous') return 'allowed';
  if (caller === 'anonymous') return '401 AuthenticationRequired';
  if (caller === 'host function key') return '401 InvalidKey';
  return satisfies(CALLERS[caller].roles, needed) ? 'allowed' : '403 AuthorizationFailed';
}

describe('every HTTP route × every kind of caller (app roles; signed local principals; issue 18)', () => {
  let s: HostStack;
  beforeAll(async () => {
    s = await startHostStack(LOCAL_AUTH);
  }, 60_000);
  afterAll(async () => s?.stop());

  const http = () => s.host.registrations.filter((r) => r.trigger.type === 'httpTrigger');

  it('has a role for every registered route, and no role for a route that is not registered', () => {
    const names = http().map((r) => r.name);
    expect(names.length).toBeGreaterThan(25);
    expect(
      names.filter((n) => !Object.hasOwn(ROUTE_ROLES, n)),
      'routes with no line in src/functions/lib/roles.ts',
    ).toEqual([]);
    expect(
      Object.keys(ROUTE_ROLES).filter((n) => !names.includes(n)),
      'lines of roles.ts with no route',
    ).toEqual([]);
    // Reads are for Readers; whatever changes state needs at least an Operator (a preview computes, saves nothing).
    const READ_ONLY_POSTS = ['previewPolicy'];
    for (const r of http()) {
      const needed = requirementOf(r.name);
      if (needed === 'anonymous' || needed === 'authenticated') continue;
      const reads = (r.trigger.methods as string[]).every((m) => m.toUpperCase() === 'GET') || READ_ONLY_POSTS.includes(r.name);
      expect(needed === 'Reader', `${r.name} needs ${needed}`).toBe(reads);
    }
    for (const n of ['createPolicy', 'updatePolicy', 'deletePolicy', 'deleteRecoveryPoint']) expect(requirementOf(n), n).toBe('Admin');
  });

  it('answers each cell as the role table says: 401 without credentials, 403 AuthorizationFailed for a missing role', { timeout: 120_000 }, async () => {
    const want: Record<string, Record<string, string>> = {};
    const got: Record<string, Record<string, string>> = {};
    for (const r of http()) {
      const path = String(r.trigger.route).replace(/\{([^}]+)\}/g, (_m, p: string) => PARAMS[p.replace(/:.*$/, '')] ?? 'x');
      for (const method of (r.trigger.methods as string[]).map((m) => m.toUpperCase())) {
        const cell = `${method} ${path} (${r.name})`;
        want[cell] = {};
        got[cell] = {};
        for (const caller of Object.keys(CALLERS) as CallerName[]) {
          want[cell][caller] = expected(r.name, caller);
          const res = await s.call(method, path, method === 'GET' || method === 'DELETE' ? undefined : {}, '', CALLERS[caller].headers);
          const refused = res.status === 401 || res.status === 403 || res.status >= 500;
          got[cell][caller] = refused ? `${res.status} ${res.body?.error?.code}` : 'allowed';
        }
      }
    }
    expect(got).toEqual(want);
  });

  it('says who the caller is and what it may do (GET /api/me), which the dashboard draws from', async () => {
    const me = await s.call('GET', 'me', undefined, '', CALLERS.Operator.headers);
    expect(me.status).toBe(200);
    expect(me.body).toMatchObject({ name: 'otto@contoso.example', kind: 'principal', roles: ['Operator'], authMode: 'local' });
    expect(me.body.can).toMatchObject({ backupNow: true, restore: true, restoreReplaceDisks: false, stopProtectionDeleteData: false, deletePolicy: false, listJobs: true });
    const none = await s.call('GET', 'me', undefined, '', principal('nobody', []));
    expect(none.status).toBe(200);
    expect(none.body.roles).toEqual([]);
    const open = Object.entries(none.body.can as Record<string, boolean>).filter(([what, ok]) => ok && !['anonymous', 'authenticated'].includes(requirementOf(what)));
    expect(open).toEqual([]);
    const anon = await s.call('GET', 'me', undefined, '');
    expect(anon.status).toBe(401);
    expect(anon.body.error).toMatchObject({ code: 'AuthenticationRequired', details: { authMode: 'local' } });
  });

  it('keeps the destructive variants for Admin: an Operator may restore to new disks but not replace them, stop but not delete', async () => {
    const item = PARAMS.itemKey,
      point = PARAMS.pointId;
    const op = CALLERS.Operator.headers,
      admin = CALLERS.Admin.headers;
    const replace = await s.call('POST', `items/${item}/recoveryPoints/${point}/restore`, { mode: 'replaceDisks' }, '', op);
    expect([replace.status, replace.body.error.code]).toEqual([403, 'AuthorizationFailed']);
    expect(replace.body.error.details).toEqual({ requiredRole: 'Admin', roles: ['Operator'] });
    const newDisks = await s.call('POST', `items/${item}/recoveryPoints/${point}/restore`, { mode: 'newDisks' }, '', op);
    expect([newDisks.status, newDisks.body.error.code]).toEqual([404, 'RecoveryPointNotFound']);
    const stopDelete = await s.call('POST', `items/${item}/stop`, { deleteData: true }, '', op);
    expect([stopDelete.status, stopDelete.body.error.code]).toEqual([403, 'AuthorizationFailed']);
    // The Admin passes the role check and reaches the lookup (the item does not exist).
    expect((await s.call('POST', `items/${item}/stop`, { deleteData: true }, '', admin)).status).toBe(404);
    expect((await s.call('POST', `items/${item}/stop`, { deleteData: false }, '', op)).status).toBe(404);
  });

  it('refuses a principal whose roles were raised after signing, and a principal signed with another key', async () => {
    const forged = { ...CALLERS.Reader.headers, 'x-ms-client-principal': CALLERS.Admin.headers['x-ms-client-principal']! };
    const a = await s.call('GET', 'items', undefined, '', forged);
    expect([a.status, a.body.error.code]).toEqual([401, 'InvalidPrincipalSignature']);
    const b = await s.call('GET', 'items', undefined, '', signLocalPrincipal({ name: 'eve', roles: ['Admin'] }, 'some-other-key-that-is-long-enough-000'));
    expect([b.status, b.body.error.code]).toEqual([401, 'InvalidPrincipalSignature']);
  });
});
