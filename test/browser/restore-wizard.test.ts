import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { startHostStack, type HostStack } from '../support/host-stack';
import { SUB } from '../support/emulator';
import { EmulatorState } from '../../src/emulator/arm/state';
import { contentDigest, fill, fingerprint } from '../../src/emulator/guest';
import { chromiumAvailable, signedIn, type Browser } from './browser';

const MIB = 1024 ** 2;
// Upper bounds for a loaded machine, not speed expectations.
const JOB_TIMEOUT = 300_000;
const runs = chromiumAvailable() || process.env.CI === 'true';

interface RestoreJob {
  jobId: string;
  status: string;
  params: { source?: string };
  result: { source?: string; disks: { diskKey: string; diskId: string }[] };
  progress: { bytesDone: number };
}

/**
 * The restore wizard in each of its modes against the app in the local host: new disks from the source of the
 * caller's choice (the default, auto, uses the point's snapshots while they exist), replace disks with its
 * confirmation step (cancelling it changes nothing), and the source choice once the snapshots are gone.
 */
describe.skipIf(!runs)('the restore wizard in Chromium', () => {
  let s: HostStack;
  let b: Browser;
  let page: Page;
  let itemKey = '';
  let vmId = '';
  let pointId = '';
  const errors: string[] = [];
  const api = async (method: string, route: string, body?: unknown) => {
    const r = await s.call(method, route, body);
    if (r.status >= 400) throw new Error(`${method} ${route}: ${r.status} ${JSON.stringify(r.body)}`);
    return r.body;
  };
  // beforeAll has no expect.poll: a plain wait for the setup jobs.
  const until = async (jobId: string): Promise<void> => {
    for (let i = 0; i < JOB_TIMEOUT / 200; i++) {
      const status = (await api('GET', `jobs/${jobId}`)).status as string;
      if (status.startsWith('Completed')) return;
      if (status === 'Failed' || status === 'Cancelled') throw new Error(`setup job ${jobId} ended ${status}`);
      await new Promise((r) => setTimeout(r, 200));
    }
    throw new Error(`setup job ${jobId} did not end`);
  };
  const restoreJobs = async (): Promise<RestoreJob[]> => (await api('GET', 'jobs?type=Restore')).items;
  /** The job page follows the job; the API then says how it ran. */
  const finishedJob = async (): Promise<RestoreJob> => {
    await page.getByRole('heading', { name: /Restore job · wz1/ }).waitFor();
    const status = page.locator('dd[data-field=status]');
    await expect.poll(async () => (await status.textContent()) ?? '', { timeout: JOB_TIMEOUT, interval: 250 }).toMatch(/^(Completed|Failed|Cancelled)/);
    const id = decodeURIComponent(new URL(page.url()).hash.replace(/^#\/jobs\//, ''));
    return api('GET', `jobs/${encodeURIComponent(id)}`);
  };
  const openWizard = async (): Promise<void> => {
    await page.goto('about:blank');
    await page.goto(`${s.host.url}/api/ui/#/items/${encodeURIComponent(itemKey)}`);
    await page.getByRole('heading', { name: 'Recovery points of wz1' }).waitFor();
    await page.locator('tr[data-point]').getByRole('button', { name: 'Restore…' }).click();
    await page.getByRole('button', { name: 'Next' }).waitFor();
  };
  const sourceSnapshot = (part: string): string => [...s.emulator.state.snapshots.values()].find((x) => x.sourceDiskId.toLowerCase().includes(part))!.id;
  const equalsSource = (diskId: string, part: string): boolean => fingerprint(s.emulator.store, EmulatorState.key(diskId)) === fingerprint(s.emulator.store, EmulatorState.key(sourceSnapshot(part)));

  beforeAll(async () => {
    s = await startHostStack();
    const vm = s.emulator.createVm({
      subscriptionId: SUB,
      resourceGroup: 'wiz',
      name: 'wz1',
      disks: [
        { name: 'wz1-os', sizeBytes: 32 * MIB, lun: -1 },
        { name: 'wz1-data', sizeBytes: 64 * MIB, lun: 0 },
      ],
    });
    vmId = vm.id;
    await api('POST', 'policies', { name: 'daily', timeZone: 'UTC', schedule: { frequency: 'Daily', times: ['02:00'] }, retention: { dailyDays: 7 }, instantRestoreDays: 2 });
    const reg = (await api('POST', 'items/register', { vmIds: [vm.id], policyName: 'daily' })).jobs[0];
    itemKey = reg.itemKey;
    await until(reg.jobId);
    fill(s.emulator.store, EmulatorState.key(vm.dataDisks[0]!.diskId), 3 * MIB, 20 * MIB, 5);
    fill(s.emulator.store, EmulatorState.key(vm.osDiskId), 0, 6 * MIB, 6);
    const backup = await api('POST', `items/${encodeURIComponent(itemKey)}/backup`, {});
    await until(backup.jobId);
    pointId = backup.jobId;
    b = await signedIn(`${s.host.url}/api/ui/`, s.host.keys.function, errors, 60_000);
    page = b.page;
  }, 300_000);
  afterEach(() => {
    expect(errors).toEqual([]);
  });
  afterAll(async () => {
    await b?.close();
    await s?.stop();
  });

  it('new disks from the backup storage when the user chooses it: the data is copied, and Back keeps the choice', { timeout: 600_000 }, async () => {
    await openWizard();
    expect(await page.getByLabel('Snapshots if they still exist, else the backup storage').isChecked()).toBe(true); // the API's default
    expect(await page.getByLabel(/Snapshots only \(instant/).isEnabled()).toBe(true);
    await page.getByLabel('Backup storage (copies every byte)').check();
    await page.getByLabel('Target resource group').fill('wiz-vault');
    await page.getByRole('button', { name: 'Next' }).click();
    await page.getByText('The data is copied from the backup storage.').waitFor();
    await page.getByRole('button', { name: 'Back', exact: true }).click();
    expect(await page.getByLabel('Backup storage (copies every byte)').isChecked()).toBe(true);
    expect(await page.getByLabel('Target resource group').inputValue()).toBe('wiz-vault');
    await page.getByRole('button', { name: 'Next' }).click();
    await page.getByText('2 new managed disk(s) are created in resource group wiz-vault').waitFor();
    await page.getByRole('button', { name: 'Start restore' }).click();
    const job = await finishedJob();
    expect(job.status, JSON.stringify(job)).toBe('Completed');
    expect(job.params.source).toBe('vault');
    expect(job.result.source).toBeUndefined();
    expect(job.progress.bytesDone).toBeGreaterThan(0);
    const data = job.result.disks.find((d) => d.diskKey !== 'os')!.diskId;
    expect(data).toMatch(/\/resourceGroups\/wiz-vault\//i);
    expect(equalsSource(data, 'wz1-data')).toBe(true);
  });

  it("new disks with the default source come from the point's snapshots: nothing is copied through the app", { timeout: 600_000 }, async () => {
    await openWizard();
    await page.getByLabel('Target resource group').fill('wiz-auto');
    await page.getByRole('button', { name: 'Next' }).click();
    await page.getByText(/created from the point’s snapshots while they exist .*else copied from the backup storage/).waitFor();
    await page.getByRole('button', { name: 'Start restore' }).click();
    const job = await finishedJob();
    expect(job.status, JSON.stringify(job)).toBe('Completed');
    expect([job.params.source, job.result.source]).toEqual(['auto', 'snapshot']);
    expect(job.progress.bytesDone).toBe(0);
    expect(equalsSource(job.result.disks.find((d) => d.diskKey !== 'os')!.diskId, 'wz1-data')).toBe(true);
  });

  it("replace disks asks for confirmation: cancelling changes nothing, confirming swaps the VM's disks", { timeout: 600_000 }, async () => {
    const before = { os: s.emulator.state.vm(vmId)!.osDiskId, data: s.emulator.state.vm(vmId)!.dataDisks[0]!.diskId };
    const jobsBefore = (await restoreJobs()).length;
    await openWizard();
    await page.getByLabel('Replace the VM’s disks (destructive)').check();
    expect(await page.getByLabel('Target resource group').isHidden()).toBe(true);
    await page.getByRole('button', { name: 'Next' }).click();
    await page.getByText('The current disks are kept (detached), not deleted.', { exact: false }).waitFor();
    await page.getByRole('button', { name: 'Review replacement' }).click();
    await page.getByText('Confirmation required').waitFor();
    await page.getByRole('button', { name: 'Cancel' }).click();
    expect(await page.getByRole('dialog').count()).toBe(0);
    expect((await restoreJobs()).length).toBe(jobsBefore);
    expect(s.emulator.state.vm(vmId)!.osDiskId).toBe(before.os);

    await openWizard();
    await page.getByLabel('Replace the VM’s disks (destructive)').check();
    await page.getByRole('button', { name: 'Next' }).click();
    await page.getByRole('button', { name: 'Review replacement' }).click();
    await page.getByRole('button', { name: 'Yes, replace the disks of wz1' }).click();
    const job = await finishedJob();
    expect(job.status, JSON.stringify(job)).toBe('Completed');
    const vm = s.emulator.state.vm(vmId)!;
    expect([vm.osDiskId === before.os, vm.dataDisks[0]!.diskId === before.data]).toEqual([false, false]);
    expect(vm.powerState).toBe('running');
    expect(equalsSource(vm.dataDisks[0]!.diskId, 'wz1-data')).toBe(true);
    expect(s.emulator.state.disk(before.data)!.state).toBe('Unattached'); // kept, not deleted
  });

  it('once the snapshots are gone, "Snapshots only" is disabled and the default copies from the backup storage', { timeout: 600_000 }, async () => {
    for (const snap of [...s.emulator.state.snapshots.values()]) s.emulator.resources.deleteSnapshot(snap);
    await openWizard();
    expect(await page.getByLabel('Snapshots only (not available: the snapshots are gone)').isDisabled()).toBe(true);
    await page.getByLabel('Target resource group').fill('wiz-gone');
    await page.getByRole('button', { name: 'Next' }).click();
    await page.getByText('The point’s snapshots are gone: the data is copied from the backup storage.').waitFor();
    await page.getByRole('button', { name: 'Start restore' }).click();
    const job = await finishedJob();
    expect(job.status, JSON.stringify(job)).toBe('Completed');
    expect([job.params.source, job.result.source]).toEqual(['auto', 'vault']);
    expect(job.progress.bytesDone).toBeGreaterThan(0);
    // The snapshot is gone: the restored disk is compared with the content digest the point recorded.
    const point = (await s.call('GET', `items/${encodeURIComponent(itemKey)}/recoveryPoints/${encodeURIComponent(pointId)}`)).body;
    const restored = job.result.disks.find((d) => d.diskKey !== 'os')!.diskId;
    expect(contentDigest(s.emulator.store, EmulatorState.key(restored))).toBe(point.disks.find((d: { diskKey: string }) => d.diskKey !== 'os').digest);
  });
});
