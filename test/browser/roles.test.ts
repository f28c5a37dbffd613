import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { startHostStack, type HostStack } from '../support/host-stack';
import { AUTOMATION_KEY, LOCAL_AUTH, principal } from '../support/principals';
import { SUB } from '../support/emulator';
import { chromiumAvailable, launch, type Browser } from './browser';

const MIB = 1024 ** 2;
const runs = chromiumAvailable() || process.env.CI === 'true';

/**
 * The dashboard behind App Service Authentication, played by the local host in VMBACKUP_AUTH_MODE=local: the
 * browser sends the signed principal headers App Service would inject, and the page shows who is signed in and
 * disables what the role cannot do. A key still signs in where there is no principal.
 */
describe.skipIf(!runs)('the dashboard with app roles, in Chromium', () => {
  let s: HostStack;
  let b: Browser;
  let page: Page;
  let itemKey = '';
  const errors: string[] = [];
  const api = async (method: string, route: string, body?: unknown) => {
    const r = await s.call(method, route, body, AUTOMATION_KEY);
    if (r.status >= 400) throw new Error(`${method} ${route}: ${r.status} ${JSON.stringify(r.body)}`);
    return r.body;
  };
  const as = async (name: string, roles: string[]): Promise<void> => {
    await b.context.setExtraHTTPHeaders(principal(name, roles));
    // A new document: the page asks who is signed in once per load, as a new sign-in reloads it.
    await page.goto('about:blank');
    await page.goto(`${s.host.url}/api/ui/#/vms`);
    await page.getByRole('heading', { name: 'Virtual machines' }).waitFor();
  };
  const button = (name: string | RegExp) => page.getByRole('button', { name });

  beforeAll(async () => {
    s = await startHostStack(LOCAL_AUTH);
    const vm = s.emulator.createVm({ subscriptionId: SUB, resourceGroup: 'roles', name: 'rl1', disks: [{ name: 'rl1-os', sizeBytes: 16 * MIB, lun: -1 }] });
    await api('POST', 'policies', { name: 'nightly', timeZone: 'UTC', schedule: { frequency: 'Daily', times: ['02:00'] }, retention: { dailyDays: 7 } });
    const reg = (await api('POST', 'items/register', { vmIds: [vm.id], policyName: 'nightly' })).jobs[0];
    itemKey = reg.itemKey;
    for (let i = 0; i < 600 && (await api('GET', `jobs/${reg.jobId}`)).status !== 'Completed'; i++) await new Promise((r) => setTimeout(r, 200));
    expect(['Protected', 'ProtectionPending']).toContain((await api('GET', `items/${encodeURIComponent(itemKey)}`)).state);
    // Discovery is a job: wait for it, so the VMs page lists the VM.
    const disc = await api('POST', 'discovery');
    for (let i = 0; i < 600 && (await api('GET', `jobs/${disc.jobId}`)).status !== 'Completed'; i++) await new Promise((r) => setTimeout(r, 200));
    b = await launch();
    page = b.page;
    page.setDefaultTimeout(60_000);
    page.on('pageerror', (e) => errors.push(e.message));
    page.on('console', (m) => {
      if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) errors.push(m.text());
    });
  }, 300_000);
  afterEach(() => {
    expect(errors).toEqual([]);
  });
  afterAll(async () => {
    await b?.close();
    await s?.stop();
  });

  it('a Reader sees everything, is named in the header, and every action is disabled or hidden', { timeout: 120_000 }, async () => {
    await as('rita@contoso.example', ['Reader']);
    expect(await page.locator('#whoami').textContent()).toBe('Signed in as rita@contoso.example · Reader');
    await page.getByRole('row', { name: /rl1/ }).waitFor();
    expect(await button('Discover VMs').isDisabled()).toBe(true);
    expect(await button('Discover VMs').getAttribute('title')).toMatch(/Your role \(Reader\) does not allow this/);
    expect(await page.getByRole('row', { name: /rl1/ }).getByRole('button', { name: 'Back up now' }).isDisabled()).toBe(true);
    await page.goto(`${s.host.url}/api/ui/#/policies`);
    await page.getByRole('row', { name: /nightly/ }).waitFor();
    expect(await page.getByRole('link', { name: 'New policy' }).count()).toBe(0);
    expect(await button('Delete nightly').isDisabled()).toBe(true);
    await page.goto(`${s.host.url}/api/ui/#/items/${encodeURIComponent(itemKey)}`);
    await page.getByRole('heading', { name: 'Recovery points of rl1' }).waitFor();
    expect(await button('Back up now').isDisabled()).toBe(true);
    expect(await button('Stop protection…').isDisabled()).toBe(true);
  });

  it('an Operator may back up and stop protection, but not delete the data nor manage policies', { timeout: 120_000 }, async () => {
    await as('otto@contoso.example', ['Operator']);
    expect(await page.locator('#whoami').textContent()).toBe('Signed in as otto@contoso.example · Operator');
    expect(await button('Discover VMs').isEnabled()).toBe(true);
    await page.goto(`${s.host.url}/api/ui/#/items/${encodeURIComponent(itemKey)}`);
    await page.getByRole('heading', { name: 'Recovery points of rl1' }).waitFor();
    expect(await button('Back up now').isEnabled()).toBe(true);
    await button('Stop protection…').click();
    const dialog = page.getByRole('dialog');
    expect(await dialog.getByLabel('Retain them').isEnabled()).toBe(true);
    expect(await dialog.getByLabel('Delete them (destructive)').isDisabled()).toBe(true);
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    await page.goto(`${s.host.url}/api/ui/#/policies`);
    await page.getByRole('row', { name: /nightly/ }).waitFor();
    expect(await page.getByRole('link', { name: 'Edit nightly' }).count()).toBe(0);
    expect(await button('Delete nightly').isDisabled()).toBe(true);
  });

  it('an Admin may do all of it', { timeout: 120_000 }, async () => {
    await as('ada@contoso.example', ['Admin']);
    expect(await page.locator('#whoami').textContent()).toBe('Signed in as ada@contoso.example · Admin');
    await page.goto(`${s.host.url}/api/ui/#/policies`);
    await page.getByRole('row', { name: /nightly/ }).waitFor();
    expect(await page.getByRole('link', { name: 'New policy' }).isVisible()).toBe(true);
    expect(await button('Delete nightly').isEnabled()).toBe(true);
    await page.goto(`${s.host.url}/api/ui/#/items/${encodeURIComponent(itemKey)}`);
    await button('Stop protection…').click();
    expect(await page.getByRole('dialog').getByLabel('Delete them (destructive)').isEnabled()).toBe(true);
    await page.getByRole('dialog').getByRole('button', { name: 'Cancel' }).click();
  });

  it('without a principal the page asks for a key; the automation key signs in as Admin', { timeout: 120_000 }, async () => {
    await b.context.setExtraHTTPHeaders({});
    await page.goto(`${s.host.url}/api/ui/`);
    await page.getByLabel('Function key').fill(AUTOMATION_KEY);
    await button('Continue').click();
    await page.getByRole('heading', { name: 'Dashboard' }).waitFor();
    expect(await page.locator('#whoami').textContent()).toBe('Key automation key · Reader, Operator, Admin');
    expect(await button('Forget key').isVisible()).toBe(true);
  });
});
