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
const subnet = (vnet: string) => `/subscriptions/${SUB}/resourceGroups/net/providers/Microsoft.Network/virtualNetworks/${vnet}/subnets/default`;

/**
 * The restore wizard's new-VM mode end to end: the dashboard in Chromium, the app in the local Functions host,
 * Azurite and the compute emulator. A subnet in another region is refused with the API's message and what to
 * do; the right one gives a running VM whose disks are the point's, byte for byte.
 */
describe.skipIf(!runs)('the restore wizard restores a point to a new VM', () => {
  let s: HostStack;
  let b: Browser;
  let page: Page;
  const dir = screenshotDir();
  const errors: string[] = [];
  let itemKey = '';
  /** The backup's source snapshot of each disk, by disk name: what each restored disk must equal. */
  let snapshots: Record<string, string> = {};

  const api = async (method: string, route: string, body?: unknown) => {
    const r = await s.call(method, route, body);
    if (r.status >= 400) throw new Error(`${method} ${route}: ${r.status} ${JSON.stringify(r.body)}`);
    return r.body;
  };
  const finished = async (jobId: string): Promise<{ status: string } & Record<string, any>> => {
    // eslint-disable-line @typescript-eslint/no-explicit-any
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
      resourceGroup: 'apps',
      name: 'app1',
      disks: [
        { name: 'app1-os', sizeBytes: 64 * MIB, lun: -1 },
        { name: 'app1-data', sizeBytes: 48 * MIB, lun: 1, caching: 'ReadOnly' },
      ],
    });
    fill(s.emulator.store, EmulatorState.key(vm.osDiskId), 0, 4 * MIB, 5);
    fill(s.emulator.store, EmulatorState.key(vm.dataDisks[0]!.diskId), 2 * MIB, 3 * MIB, 6);
    for (const [name, location, prefix] of [
      ['vnet1', 'westeurope', '10.5.0.0/24'],
      ['vnet-us', 'eastus', '10.6.0.0/24'],
    ] as const) {
      s.emulator.network.putVnet(SUB, 'net', name, { location, properties: { subnets: [{ name: 'default', properties: { addressPrefix: prefix } }] } });
    }
    await api('POST', 'policies', { name: 'nightly', timeZone: 'UTC', schedule: { frequency: 'Daily', times: ['02:00'] }, retention: { dailyDays: 14 }, consistency: { mode: 'CrashConsistent' } });
    const reg = (await api('POST', 'items/register', { vmIds: [vm.id], policyName: 'nightly' })).jobs[0];
    itemKey = reg.itemKey;
    expect((await finished(reg.jobId)).status).toBe('Completed');
    const backup = await finished((await api('POST', `items/${encodeURIComponent(itemKey)}/backup`, {})).jobId);
    expect(backup.status).toBe('Completed');
    snapshots = Object.fromEntries([...s.emulator.state.snapshots.values()].map((x) => [x.sourceDiskId.split('/').pop()!, x.id]));
    expect(Object.keys(snapshots).sort()).toEqual(['app1-data', 'app1-os']);

    b = await signedIn(`${s.host.url}/api/ui/`, s.host.keys.function, errors);
    page = b.page;
  }, 600_000);
  afterAll(async () => {
    await b?.close();
    await s?.stop();
  });

  it("asks for a subnet, shows the API's refusal of one in another region, then creates a running VM on exact disks", { timeout: 600_000 }, async () => {
    await page.goto(`${s.host.url}/api/ui/#/items/${encodeURIComponent(itemKey)}`);
    await page.getByRole('heading', { name: 'Recovery points of app1' }).waitFor();
    await page.locator('tr[data-point]').getByRole('button', { name: 'Restore…' }).click();
    expect(await page.getByLabel('Subnet').isHidden()).toBe(true);
    await page.getByLabel('A new VM (on the restored disks, the original is not touched)').check();
    expect(await page.getByLabel('Subnet').isVisible()).toBe(true);
    expect(await page.getByLabel('Target resource group').isVisible()).toBe(true);
    // The subnet is required in this mode: the form does not go on without it.
    await page.getByRole('button', { name: 'Next' }).click();
    expect(await page.getByLabel('Subnet').evaluate((el) => (el as HTMLInputElement).validity.valueMissing)).toBe(true);

    await page.getByLabel('Subnet').fill(subnet('vnet-us'));
    await page.getByLabel('Target resource group').fill('apps-restored');
    await page.getByRole('button', { name: 'Next' }).click();
    await page.getByRole('heading', { name: 'Restore to a new VM' }).waitFor();
    await page.getByRole('button', { name: 'Start restore' }).click();
    await expect.poll(() => page.getByRole('alert').textContent()).toMatch(/SubnetRegionMismatch: .*eastus.*westeurope.*Recommended action: Choose a subnet in westeurope/);
    await shot(page, dir, 'new-vm-01-refused');

    await page.getByRole('button', { name: 'Back', exact: true }).click();
    await page.getByLabel('A new VM (on the restored disks, the original is not touched)').check();
    // Step 1 starts afresh on Back: the choices are made again.
    await page.getByLabel('Subnet').fill(subnet('vnet1'));
    await page.getByLabel('Target resource group').fill('apps-restored');
    await page.getByRole('button', { name: 'Next' }).click();
    await page.getByText(/A new VM is created in resource group apps-restored, of size the original’s, on 2 disk\(s\)/).waitFor();
    await page.getByText(`Its network interface goes into subnet default (${subnet('vnet1')}).`).waitFor();
    await shot(page, dir, 'new-vm-02-review');
    await page.getByRole('button', { name: 'Start restore' }).click();
    await page.getByRole('heading', { name: /Restore job · app1/ }).waitFor();
    const status = page.locator('dd[data-field=status]');
    await expect.poll(async () => (await status.textContent()) ?? '', { timeout: JOB_TIMEOUT, interval: 250 }).toMatch(/^(Completed|Failed|Cancelled)$/);
    expect(await status.textContent()).toBe('Completed');
    const card = page.locator('[data-new-vm]');
    await card.getByText('running').waitFor();
    await shot(page, dir, 'new-vm-03-job');

    const vmId = (await card.getAttribute('data-new-vm'))!;
    const vm = s.emulator.state.vm(vmId)!;
    expect(vm).toMatchObject({ powerState: 'running', osCreateOption: 'Attach' });
    expect(vm.dataDisks).toMatchObject([{ lun: 1, caching: 'ReadOnly' }]);
    expect(s.emulator.state.nics.get(EmulatorState.key(vm.networkInterfaces![0]!.id))).toMatchObject({ subnetId: subnet('vnet1'), virtualMachineId: vm.id });
    const store = s.emulator.store;
    const restored = [vm.osDiskId, vm.dataDisks[0]!.diskId];
    expect(restored.every((id) => /\/resourceGroups\/apps-restored\//i.test(id))).toBe(true);
    expect(fingerprint(store, EmulatorState.key(restored[0]!))).toBe(fingerprint(store, EmulatorState.key(snapshots['app1-os']!)));
    expect(fingerprint(store, EmulatorState.key(restored[1]!))).toBe(fingerprint(store, EmulatorState.key(snapshots['app1-data']!)));
    expect(errors).toEqual([]);
  });
});

async function shot(page: Page, dir: string, name: string): Promise<void> {
  await page.evaluate(() => document.getElementById('toast')?.classList.remove('show'));
  await page.screenshot({ path: path.join(dir, `${name}.png`), animations: 'disabled' });
}
