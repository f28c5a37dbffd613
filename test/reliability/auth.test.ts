import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHostStack, type HostStack } from '../support/host-stack';
import { SUB } from '../support/emulator';
import { EmulatorState } from '../../src/emulator/arm/state';
import { fill } from '../../src/emulator/guest';
import { requireConfirmation } from '../../src/core/views/confirm';
import { ConflictError } from '../../src/core/errors';
import type { Deps } from '../../src/core/jobs/deps';

const MIB = 1024 ** 2;
const ADMIN = 'master-key-for-tests-only';

describe('function keys and destructive operations', () => {
  let s: HostStack;
  beforeAll(async () => {
    s = await startHostStack({ VMBACKUP_ADMIN_KEY: ADMIN, VMBACKUP_CONFIRMATION_SECRET: 'confirmation-secret-for-tests-0123' });
  }, 60_000);
  afterAll(async () => s?.stop());

  it('answers 401 on every non-anonymous route and method without a key or with a wrong one', async () => {
    const http = s.host.registrations.filter((r) => r.trigger.type === 'httpTrigger');
    const anonymous = http
      .filter((r) => String(r.trigger.authLevel ?? 'function') === 'anonymous')
      .map((r) => r.name)
      .sort();
    // Anonymous is a conscious choice: adding one more route to this list must be a reviewed change.
    // 'ui' serves only the dashboard's static files; every API call the dashboard makes sends the key.
    expect(anonymous).toEqual(['health', 'openapi', 'ui']);
    let checked = 0;
    for (const r of http) {
      if (String(r.trigger.authLevel ?? 'function') === 'anonymous') continue;
      const path = String(r.trigger.route ?? r.name).replace(/\{\*?(\w+)\??(:[^}]*)?\}/g, (_m, n: string) =>
        n === 'itemKey' ? encodeURIComponent(`vm;${SUB};rg;x`) : n === 'pointId' || n === 'jobId' ? '0000000000000001-abc' : 'x1',
      );
      for (const method of (r.trigger.methods as string[] | undefined) ?? ['GET', 'POST']) {
        for (const key of ['', 'wrong-key', 'function-key-for-tests-onlY']) {
          const res = await s.call(method, path, method === 'GET' || method === 'DELETE' ? undefined : {}, key);
          expect(res.status, `${method} ${path} key=${key || '(none)'}`).toBe(401);
          expect(res.body.error.code).toBe('Unauthorized');
        }
        // The same request with the function key gets past the key check (whatever the route then says).
        const ok = await s.call(method, path, method === 'GET' || method === 'DELETE' ? undefined : {});
        expect(ok.status, `${method} ${path} with the key`).not.toBe(401);
        checked++;
      }
    }
    expect(checked).toBeGreaterThanOrEqual(http.length - anonymous.length);
  });

  it('needs the admin key or a confirmation token bound to the action and target for destructive routes', { timeout: 120_000 }, async () => {
    const until = async (jobId: string) => {
      for (let i = 0; i < 600; i++) {
        const j = await s.call('GET', `jobs/${jobId}`);
        if (['Completed', 'CompletedWithWarnings', 'Failed', 'Cancelled'].includes(j.body.status)) return j.body;
        await new Promise((r) => setTimeout(r, 200));
      }
      throw new Error('job did not end');
    };
    // An attached-OS-disk VM: the swap this test confirms is the one shape the product's replaceDisks gets through
    // until its Azure-correct rewrite lands (AZURE-FIDELITY B2; image-based VMs answer PropertyChangeNotAllowed).
    const a = s.emulator.createVm({ subscriptionId: SUB, resourceGroup: 'auth', name: 'a1', osCreateOption: 'Attach', disks: [{ name: 'a1-os', sizeBytes: 32 * MIB, lun: -1 }] });
    const b = s.emulator.createVm({ subscriptionId: SUB, resourceGroup: 'auth', name: 'b1', disks: [{ name: 'b1-os', sizeBytes: 32 * MIB, lun: -1 }] });
    fill(s.emulator.store, EmulatorState.key(a.osDiskId), 0, 2 * MIB, 3);
    for (const p of ['keep', 'drop1', 'drop2']) {
      expect((await s.call('POST', 'policies', { name: p, timeZone: 'UTC', schedule: { frequency: 'Daily', times: ['01:00'] }, retention: { dailyDays: 3 } })).status).toBe(201);
    }
    const reg = await s.call('POST', 'items/register', { vmIds: [a.id, b.id], policyName: 'keep' });
    for (const j of reg.body.jobs) expect((await until(j.jobId)).status).toBe('Completed');
    const items = (await s.call('GET', 'items')).body.items as { itemKey: string }[];
    const keyA = encodeURIComponent(items.find((i) => i.itemKey.endsWith(';a1'))!.itemKey);
    const keyB = encodeURIComponent(items.find((i) => i.itemKey.endsWith(';b1'))!.itemKey);
    const backup = await s.call('POST', `items/${keyA}/backup`, {});
    expect((await until(backup.body.jobId)).status).toBe('Completed');
    const pointId = backup.body.jobId;
    const restorePath = `items/${keyA}/recoveryPoints/${pointId}/restore`;

    // 1. Without a token: 409 ConfirmationRequired with a token, and nothing happens.
    const jobsBefore = (await s.call('GET', 'jobs')).body.items.length;
    const r1 = await s.call('POST', restorePath, { mode: 'replaceDisks' });
    expect(r1.status).toBe(409);
    expect(r1.body.error.code).toBe('ConfirmationRequired');
    const restoreToken = r1.body.error.details.confirmationToken as string;
    const s1 = await s.call('POST', `items/${keyA}/stop`, { deleteData: true });
    expect(s1.body.error.code).toBe('ConfirmationRequired');
    const stopTokenA = s1.body.error.details.confirmationToken as string;
    const d1 = await s.call('DELETE', 'policies/drop1');
    expect(d1.body.error.code).toBe('ConfirmationRequired');
    const dropToken1 = d1.body.error.details.confirmationToken as string;
    expect((await s.call('GET', 'jobs')).body.items.length).toBe(jobsBefore);

    // 2. A token for one action or target does not work for another.
    expect((await s.call('POST', `items/${keyA}/stop`, { deleteData: true, confirmationToken: restoreToken })).body.error.code).toBe('ConfirmationInvalid');
    expect((await s.call('POST', `items/${keyB}/stop`, { deleteData: true, confirmationToken: stopTokenA })).body.error.code).toBe('ConfirmationInvalid');
    expect((await s.call('DELETE', `policies/drop2?confirmationToken=${encodeURIComponent(dropToken1)}`)).body.error.code).toBe('ConfirmationInvalid');
    expect((await s.call('POST', restorePath, { mode: 'replaceDisks', confirmationToken: stopTokenA })).body.error.code).toBe('ConfirmationInvalid');
    const tampered = restoreToken.replace(/^\d+/, (n) => String(Number(n) + 60_000));
    expect((await s.call('POST', restorePath, { mode: 'replaceDisks', confirmationToken: tampered })).body.error.code).toBe('ConfirmationInvalid');
    expect((await s.call('GET', `items/${keyB}`)).body.state).not.toMatch(/Stopped/);
    expect((await s.call('GET', 'policies/drop2')).status).toBe(200);

    // 3. The right token carries the operation out.
    const r2 = await s.call('POST', restorePath, { mode: 'replaceDisks', confirmationToken: restoreToken });
    expect(r2.status).toBe(202);
    expect((await until(r2.body.jobId)).status).toBe('Completed');
    expect((await s.call('DELETE', `policies/drop1?confirmationToken=${encodeURIComponent(dropToken1)}`)).status).toBe(204);

    // 4. The admin key needs no token.
    const adminStop = await s.call('POST', `items/${keyB}/stop`, { deleteData: true }, ADMIN);
    expect(adminStop.status).toBe(200);
    expect(adminStop.body.state).toBe('ProtectionStoppedDataDeleted');
    expect((await s.call('DELETE', 'policies/drop2', undefined, ADMIN)).status).toBe(204);
  });

  it('refuses an expired confirmation token', () => {
    let now = Date.parse('2026-01-01T00:00:00Z');
    const deps = { config: { confirmationSecret: 'confirmation-secret-for-tests-0123' }, clock: () => new Date(now) } as unknown as Deps;
    let token = '';
    try {
      requireConfirmation(deps, 'deletePolicy', 'p', undefined, false);
    } catch (err) {
      expect(err).toBeInstanceOf(ConflictError);
      token = ((err as ConflictError).details as { confirmationToken: string }).confirmationToken;
    }
    now += 4 * 60_000;
    expect(() => requireConfirmation(deps, 'deletePolicy', 'p', token, false)).not.toThrow();
    now += 2 * 60_000; // past the 5 minutes
    expect(() => requireConfirmation(deps, 'deletePolicy', 'p', token, false)).toThrow(expect.objectContaining({ code: 'ConfirmationInvalid' }));
    expect(() => requireConfirmation(deps, 'deletePolicy', 'q', token, false)).toThrow(expect.objectContaining({ code: 'ConfirmationInvalid' }));
  });
});
