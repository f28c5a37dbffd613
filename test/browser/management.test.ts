import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { startHostStack, type HostStack } from '../support/host-stack';
import { SUB } from '../support/emulator';
import { EmulatorState } from '../../src/emulator/arm/state';
import { fill } from '../../src/emulator/guest';
import { chromiumAvailable, signedIn, screenshotDir, type Browser } from './browser';

const MIB = 1024 ** 2;
// Upper bounds for a loaded machine, not speed expectations.
const JOB_TIMEOUT = 300_000;
const TERMINAL = ['Completed', 'CompletedWithWarnings', 'Failed', 'Cancelled'];
const runs = chromiumAvailable() || process.env.CI === 'true';

const policy = (name: string, mode = 'CrashConsistent') => ({
  name,
  timeZone: 'UTC',
  schedule: { frequency: 'Daily', times: ['02:00'] },
  retention: { dailyDays: 14 },
  consistency: { mode },
});

async function shot(page: Page, dir: string, name: string): Promise<void> {
  await page.evaluate(() => document.getElementById('toast')?.classList.remove('show'));
  await page.screenshot({ path: path.join(dir, `${name}.png`), animations: 'disabled' });
}

/**
 * The screens the operator uses after the first backup: verify, delete and undelete of a point, stop
 * protection (retain or delete), delete of a policy, cancel of a running job. Each test checks what the page
 * says and what the API then holds.
 */
describe.skipIf(!runs)('managing protection from the web dashboard in Chromium', () => {
  let s: HostStack;
  let b: Browser;
  let page: Page;
  const dir = screenshotDir();
  const errors: string[] = [];
  let webKey = '';
  let dbKey = '';

  const api = async (method: string, route: string, body?: unknown) => {
    const r = await s.call(method, route, body);
    if (r.status >= 400) throw new Error(`${method} ${route}: ${r.status} ${JSON.stringify(r.body)}`);
    return r.body;
  };
  const finished = async (jobId: string): Promise<{ status: string } & Record<string, any>> => {
    // eslint-disable-line @typescript-eslint/no-explicit-any
    // A plain loop: expect.poll works only inside a test, and this also runs in beforeAll.
    for (const end = Date.now() + JOB_TIMEOUT; Date.now() < end; await new Promise((r) => setTimeout(r, 250))) {
      const j = await api('GET', `jobs/${jobId}`);
      if (TERMINAL.includes(j.status)) return j;
    }
    throw new Error(`job ${jobId} did not end within ${JOB_TIMEOUT} ms`);
  };
  const points = async (itemKey: string, includeDeleted = false): Promise<{ pointId: string; state: string; verifiedAt?: string; deletedAt?: string }[]> =>
    (await api('GET', `items/${encodeURIComponent(itemKey)}/recoveryPoints${includeDeleted ? '?includeDeleted=true' : ''}`)).items;
  const item = async (itemKey: string): Promise<{ state: string; policyName?: string; busy: boolean }> => api('GET', `items/${encodeURIComponent(itemKey)}`);
  const openPoints = async (itemKey: string, vmName: string): Promise<void> => {
    await page.goto(`${s.host.url}/api/ui/#/items/${encodeURIComponent(itemKey)}`);
    await page.getByRole('heading', { name: `Recovery points of ${vmName}` }).waitFor();
  };
  const facts = () => page.locator('#item-facts .badge').textContent();

  beforeAll(async () => {
    s = await startHostStack();
    const web = s.emulator.createVm({
      subscriptionId: SUB,
      resourceGroup: 'ops',
      name: 'web2',
      disks: [
        { name: 'web2-os', sizeBytes: 64 * MIB, lun: -1 },
        { name: 'web2-data', sizeBytes: 64 * MIB, lun: 0 },
      ],
    });
    const db = s.emulator.createVm({ subscriptionId: SUB, resourceGroup: 'ops', name: 'db2', osType: 'Windows', disks: [{ name: 'db2-os', sizeBytes: 64 * MIB, lun: -1 }] });
    fill(s.emulator.store, EmulatorState.key(web.dataDisks[0]!.diskId), 0, 6 * MIB, 3);
    fill(s.emulator.store, EmulatorState.key(db.osDiskId), 0, 6 * MIB, 4);
    await api('POST', 'policies', policy('nightly'));
    await api('POST', 'policies', policy('app-nightly', 'ApplicationConsistent'));
    const reg1 = (await api('POST', 'items/register', { vmIds: [web.id], policyName: 'nightly' })).jobs[0];
    const reg2 = (await api('POST', 'items/register', { vmIds: [db.id], policyName: 'app-nightly' })).jobs[0];
    webKey = reg1.itemKey;
    dbKey = reg2.itemKey;
    for (const j of [reg1, reg2]) expect((await finished(j.jobId)).status).toBe('Completed');
    const backup = await api('POST', `items/${encodeURIComponent(webKey)}/backup`, {});
    expect((await finished(backup.jobId)).status).toBe('Completed');

    b = await signedIn(`${s.host.url}/api/ui/`, s.host.keys.function, errors);
    page = b.page;
  }, 600_000);
  afterEach(() => {
    expect(errors).toEqual([]);
  });
  afterAll(async () => {
    await b?.close();
    await s?.stop();
  });

  it('verifies a good point, then deletes it to soft delete and undeletes it', { timeout: 600_000 }, async () => {
    await openPoints(webKey, 'web2');
    const row = page.locator('tr[data-point]');
    await expect.poll(() => row.count()).toBe(1);
    const [point] = await points(webKey);
    expect(await row.locator('td').nth(6).textContent()).toBe('-'); // never verified yet

    // Verify runs as a job; the page follows it and then shows the verdict and the date on the point.
    await row.getByRole('button', { name: /^Verify the point of / }).click();
    await page.getByText(/^Verified the recovery point of .*: it can be restored as backed up/).waitFor({ timeout: JOB_TIMEOUT });
    expect(await page.locator('.verify-disks li').allTextContents()).toEqual(['os: every block matches the manifest', 'lun-0: every block matches the manifest']);
    await expect.poll(() => row.locator('td').nth(6).textContent()).not.toBe('-');
    const verified = (await points(webKey))[0]!;
    expect(verified).toMatchObject({ pointId: point!.pointId, state: 'Available' });
    expect(verified.verifiedAt).toBeTruthy();
    const [job] = (await api('GET', 'jobs?type=Verify')).items;
    expect(job).toMatchObject({ status: 'Completed', params: { pointId: point!.pointId }, result: { state: 'Verified' } });
    expect(job.result.disks.every((d: { ok: boolean }) => d.ok)).toBe(true);
    await shot(page, dir, '12-verify');
    // The job's own page says what the verification found.
    await page.getByRole('link', { name: 'Verify job' }).click();
    await page.getByRole('heading', { name: 'Verification: Verified' }).waitFor();
    await openPoints(webKey, 'web2');

    // Delete asks first, in a dialog that says the point can be undeleted; Cancel changes nothing.
    await row.getByRole('button', { name: /^Delete the point of / }).click();
    const dialog = page.getByRole('dialog');
    await dialog.getByText(/moves to soft delete/).waitFor();
    await shot(page, dir, '13-delete-point');
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    expect((await points(webKey))[0]!.state).toBe('Available');
    await row.getByRole('button', { name: /^Delete the point of / }).click();
    await page.getByRole('button', { name: 'Delete recovery point' }).click();
    // The soft-deleted point stays in view (the toggle turns on) with its Undelete button.
    await expect.poll(() => row.getAttribute('data-state')).toBe('SoftDeleted');
    expect(await page.getByLabel(/Show soft-deleted points \(1\)/).isChecked()).toBe(true);
    expect(await row.textContent()).toMatch(/Soft Deleted.*deleted /);
    expect(await points(webKey)).toEqual([]);
    expect((await points(webKey, true))[0]).toMatchObject({ pointId: point!.pointId, state: 'SoftDeleted' });
    await shot(page, dir, '14-soft-deleted-point');
    // Hidden on request, shown again.
    await page.getByLabel(/Show soft-deleted points/).uncheck();
    await expect.poll(() => row.count()).toBe(0);
    await page.getByText('Every recovery point is soft-deleted').waitFor();
    await page.getByLabel(/Show soft-deleted points/).check();

    await row.getByRole('button', { name: /^Undelete the point of / }).click();
    await expect.poll(() => row.getAttribute('data-state')).toBe('Available');
    expect((await points(webKey))[0]).toMatchObject({ pointId: point!.pointId, state: 'Available' });
    expect(await row.getByRole('button', { name: 'Restore…' }).count()).toBe(1);
  });

  it('stops protection keeping the points; protected again, stops it deleting them after the confirmation step', { timeout: 600_000 }, async () => {
    await openPoints(webKey, 'web2');
    expect(await facts()).toBe('Protected');
    const row = page.locator('tr[data-point]');

    // Retain: one step, the points stay restorable.
    await page.getByRole('button', { name: 'Stop protection…' }).click();
    const dialog = page.getByRole('dialog');
    await dialog.getByRole('heading', { name: 'Stop protection of web2' }).waitFor();
    expect(await dialog.getByLabel('Retain them').isChecked()).toBe(true);
    await shot(page, dir, '15-stop-protection');
    await dialog.getByRole('button', { name: 'Stop protection' }).click();
    await expect.poll(facts).toBe('Protection Stopped');
    expect(await page.getByText('Protection is stopped: no scheduled backup runs.').count()).toBe(1);
    expect(await page.getByRole('button', { name: 'Stop protection…' }).count()).toBe(0);
    expect(await item(webKey)).toMatchObject({ state: 'ProtectionStopped' });
    expect((await item(webKey)).policyName).toBeUndefined();
    expect((await points(webKey)).map((p) => p.state)).toEqual(['Available']);
    expect(await row.getAttribute('data-state')).toBe('Available');

    // Protected again, then stopped deleting the data: the API asks for confirmation, the dialog resends.
    const protect = (await api('POST', 'items/protect', { itemKeys: [webKey], policyName: 'nightly' })).jobs[0];
    expect((await finished(protect.jobId)).status).toBe('Completed');
    await page.reload();
    await expect.poll(facts).toBe('Protected');
    await page.getByRole('button', { name: 'Stop protection…' }).click();
    await dialog.getByLabel('Delete them (destructive)').check();
    await dialog.getByRole('button', { name: 'Review deletion' }).click();
    await dialog.getByText(/Confirmation required: This operation \(stopProtectionDeleteData\) is destructive/).waitFor();
    // The first step changed nothing.
    expect(await item(webKey)).toMatchObject({ state: 'Protected', policyName: 'nightly' });
    expect((await points(webKey)).map((p) => p.state)).toEqual(['Available']);
    await shot(page, dir, '16-stop-delete-confirmation');
    await dialog.getByRole('button', { name: 'Yes, stop protection and delete the recovery points of web2' }).click();
    await expect.poll(facts).toBe('Protection Stopped Data Deleted');
    expect(await page.getByRole('dialog').count()).toBe(0);
    expect(await item(webKey)).toMatchObject({ state: 'ProtectionStoppedDataDeleted' });
    expect(await points(webKey)).toEqual([]);
    expect((await points(webKey, true)).map((p) => p.state)).toEqual(['SoftDeleted']);
    // The deleted points are shown so they can be undeleted; a backup is no longer offered.
    expect(await row.getAttribute('data-state')).toBe('SoftDeleted');
    expect(await page.getByRole('button', { name: 'Back up now' }).count()).toBe(0);

    // Undelete gives the item its data back: stopped, data retained.
    await row.getByRole('button', { name: /^Undelete the point of / }).click();
    await expect.poll(facts).toBe('Protection Stopped');
    expect(await item(webKey)).toMatchObject({ state: 'ProtectionStopped' });
    expect((await points(webKey)).map((p) => p.state)).toEqual(['Available']);
  });

  it('deletes an unused policy after the confirmation step and shows why one in use is refused', { timeout: 300_000 }, async () => {
    await page.goto(`${s.host.url}/api/ui/#/policies`);
    const inUse = page.locator('tr[data-policy="app-nightly"]');
    await inUse.getByRole('cell', { name: 'db2' }).waitFor();

    // In use: the dialog says so up front; past the confirmation, the API refuses with its recommended action.
    await inUse.getByRole('button', { name: 'Delete app-nightly' }).click();
    const dialog = page.getByRole('dialog');
    await dialog.getByText('It still protects db2.').waitFor();
    await dialog.getByRole('button', { name: 'Review deletion' }).click();
    await dialog.getByRole('button', { name: 'Yes, delete policy app-nightly' }).click();
    await expect
      .poll(() => dialog.getByRole('alert').textContent())
      .toMatch(/PolicyInUse: Policy 'app-nightly' protects 1 item\(s\) \(db2\)\..*Recommended action: Protect those items with another policy or stop their protection first\./);
    await shot(page, dir, '17-delete-policy-in-use');
    expect((await s.call('GET', 'policies/app-nightly')).status).toBe(200);
    await dialog.getByRole('button', { name: 'Cancel' }).click();

    const unused = page.locator('tr[data-policy="nightly"]');
    await unused.getByRole('button', { name: 'Delete nightly' }).click();
    await dialog.getByText('No item is protected by it.').waitFor();
    await dialog.getByRole('button', { name: 'Review deletion' }).click();
    await dialog.getByText(/Confirmation required: This operation \(deletePolicy\) is destructive/).waitFor();
    expect((await s.call('GET', 'policies/nightly')).status).toBe(200);
    await dialog.getByRole('button', { name: 'Yes, delete policy nightly' }).click();
    await expect.poll(() => unused.count()).toBe(0);
    expect(await inUse.count()).toBe(1);
    const gone = await s.call('GET', 'policies/nightly');
    expect(gone.status).toBe(404);
    expect(gone.body.error.code).toBe('PolicyNotFound');
  });

  it('cancels a running backup from its job page; the job ends Cancelled and leaves no point', { timeout: 600_000 }, async () => {
    // The application-consistent pre-script takes 30 s more than usual (a busy guest): the backup is running
    // and holds there long enough to be cancelled, which it honours once the script has returned.
    s.emulator.runCommands.slow({ extraMs: 30_000, vm: /db2/i });
    await openPoints(dbKey, 'db2');
    await page.getByRole('button', { name: 'Back up now' }).click();
    await page.getByRole('heading', { name: 'Backup job · db2' }).waitFor();
    const status = page.locator('dd[data-field=status]');
    await expect.poll(() => status.textContent(), { timeout: JOB_TIMEOUT }).toBe('In Progress');
    const jobId = (await page.locator('dd[data-field="job id"]').textContent())!;
    await page.getByRole('button', { name: 'Cancel job' }).click();
    // The script still runs (Azure cannot cancel a Run Command), so the job says Cancelling until it returns.
    await expect.poll(() => status.textContent()).toBe('Cancelling');
    await page.getByText('Cancellation requested: the job stops at its next checkpoint.').waitFor();
    expect(await page.getByRole('button', { name: 'Cancel job' }).count()).toBe(0);
    expect(await api('GET', `jobs/${jobId}`)).toMatchObject({ status: 'Cancelling', cancelRequested: true });
    await shot(page, dir, '18-cancel-job');
    await expect.poll(() => status.textContent(), { timeout: JOB_TIMEOUT, interval: 250 }).toBe('Cancelled');

    const job = await api('GET', `jobs/${jobId}`);
    expect(job).toMatchObject({ type: 'Backup', status: 'Cancelled', cancelRequested: true });
    expect(await points(dbKey, true)).toEqual([]);
    expect((await item(dbKey)).busy).toBe(false);
    expect([...s.emulator.state.snapshots.values()].filter((x) => x.tags['vmbackup-job'] === jobId)).toEqual([]);
    // The jobs list shows it ended, with nothing left to cancel.
    await page.getByRole('link', { name: 'Jobs', exact: true }).click();
    const listed = page.locator(`tbody[data-job="${jobId}"]`);
    await listed.locator('.badge', { hasText: 'Cancelled' }).waitFor();
    expect(await listed.getByRole('button', { name: 'Cancel' }).count()).toBe(0);
  });
});
