import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { startHostStack, type HostStack } from '../support/host-stack';
import { SUB } from '../support/emulator';
import { EmulatorState } from '../../src/emulator/arm/state';
import { fill, fingerprint } from '../../src/emulator/guest';
import { chromiumAvailable, signedIn, screenshotDir, type Browser } from './browser';

const MIB = 1024 ** 2;
// Upper bounds for a loaded machine, not speed expectations.
const JOB_TIMEOUT = 300_000;
const TERMINAL = ['Completed', 'CompletedWithWarnings', 'Failed', 'Cancelled'];
const runs = chromiumAvailable() || process.env.CI === 'true';

/**
 * The restore wizard's "Mount for file recovery" mode, driven in Chromium against the built app in the local
 * host: the point's disks appear on the helper VM (byte for byte the backed-up disks) with the commands to read
 * them, and "Unmount now" takes them away.
 */
describe.skipIf(!runs)('mount for file recovery from the web dashboard in Chromium', () => {
  let s: HostStack;
  let b: Browser;
  let page: Page;
  const dir = screenshotDir();
  const errors: string[] = [];
  let itemKey = '';
  let helperId = '';
  const reference: string[] = [];

  const api = async (method: string, route: string, body?: unknown) => {
    const r = await s.call(method, route, body);
    if (r.status >= 400) throw new Error(`${method} ${route}: ${r.status} ${JSON.stringify(r.body)}`);
    return r.body;
  };
  const finished = async (jobId: string): Promise<{ status: string }> => {
    for (const end = Date.now() + JOB_TIMEOUT; Date.now() < end; await new Promise((r) => setTimeout(r, 250))) {
      const j = await api('GET', `jobs/${jobId}`);
      if (TERMINAL.includes(j.status)) return j;
    }
    throw new Error(`job ${jobId} did not end within ${JOB_TIMEOUT} ms`);
  };

  beforeAll(async () => {
    s = await startHostStack();
    const vm = s.emulator.createVm({
      subscriptionId: SUB,
      resourceGroup: 'files',
      name: 'fs1',
      disks: [
        { name: 'fs1-os', sizeBytes: 64 * MIB, lun: -1 },
        { name: 'fs1-data', sizeBytes: 64 * MIB, lun: 0 },
      ],
    });
    fill(s.emulator.store, EmulatorState.key(vm.osDiskId), 0, 4 * MIB, 5);
    fill(s.emulator.store, EmulatorState.key(vm.dataDisks[0]!.diskId), 3 * MIB, 6 * MIB, 6);
    helperId = s.emulator.createVm({ subscriptionId: SUB, resourceGroup: 'helpers', name: 'rescue1', vmSize: 'Standard_D4s_v5', disks: [{ name: 'rescue1-os', sizeBytes: 32 * MIB, lun: -1 }] }).id;
    const reg = (await api('POST', 'items/register', { vmIds: [vm.id] })).jobs[0];
    itemKey = reg.itemKey;
    expect((await finished(reg.jobId)).status).toBe('Completed');
    const backup = await api('POST', `items/${encodeURIComponent(itemKey)}/backup`, {});
    expect((await finished(backup.jobId)).status).toBe('Completed');
    reference.push(fingerprint(s.emulator.store, EmulatorState.key(vm.osDiskId)), fingerprint(s.emulator.store, EmulatorState.key(vm.dataDisks[0]!.diskId)));
    b = await signedIn(`${s.host.url}/api/ui/`, s.host.keys.function, errors);
    page = b.page;
  }, 600_000);
  afterAll(async () => {
    await b?.close();
    await s?.stop();
  });

  it('mounts the point on the helper VM, shows the LUNs and commands, and unmounts it', { timeout: 600_000 }, async () => {
    await page.goto(`${s.host.url}/api/ui/#/items/${encodeURIComponent(itemKey)}`);
    await page.getByRole('heading', { name: 'Recovery points of fs1' }).waitFor();
    await page.locator('tr[data-point]').getByRole('button', { name: 'Restore…' }).click();
    await page.getByRole('dialog').waitFor();
    await page.getByLabel('Mount for file recovery').check();
    await page.getByRole('button', { name: 'Next' }).click();
    await page.getByRole('heading', { name: 'Mount for file recovery' }).waitFor();
    await page.getByLabel('Helper VM').fill(helperId);
    await page.getByLabel('Keep mounted for (minutes)').fill('45');
    await page.evaluate(() => document.getElementById('toast')?.classList.remove('show'));
    await page.screenshot({ path: path.join(dir, 'mount-1-wizard.png'), animations: 'disabled' });
    await page.getByRole('button', { name: 'Mount', exact: true }).click();
    const state = page.locator('[data-field=mount-state]');
    await expect.poll(async () => (await state.textContent()) ?? '', { timeout: JOB_TIMEOUT, interval: 250 }).toBe('Mounted');
    expect(await page.locator('.mount-disks li').allTextContents()).toEqual(
      expect.arrayContaining([expect.stringMatching(/^LUN \d: fs1-os \(caching ReadOnly\)$/), expect.stringMatching(/^LUN \d: fs1-data \(caching ReadOnly\)$/)]),
    );
    expect(await page.locator('pre.mount-commands').textContent()).toMatch(/sudo mount -o ro \/dev\/disk\/azure\/scsi1\/lun\d-part1/);
    await page.screenshot({ path: path.join(dir, 'mount-2-mounted.png'), animations: 'disabled' });
    // What the page says is what the helper VM holds: the backed-up disks, byte for byte, read-only cached.
    const onHelper = s.emulator.state.vm(helperId)!.dataDisks;
    expect(onHelper.map((d) => d.caching)).toEqual(['ReadOnly', 'ReadOnly']);
    expect(onHelper.map((d) => fingerprint(s.emulator.store, EmulatorState.key(d.diskId))).sort()).toEqual([...reference].sort());
    const diskIds = onHelper.map((d) => d.diskId);
    await page.getByRole('button', { name: 'Unmount now' }).click();
    await expect.poll(async () => (await state.textContent()) ?? '', { timeout: JOB_TIMEOUT, interval: 250 }).toBe('Unmounted');
    expect(s.emulator.state.vm(helperId)!.dataDisks).toEqual([]);
    for (const id of diskIds) expect(s.emulator.state.disk(id)).toBeUndefined();
    expect(errors).toEqual([]);
  });
});
