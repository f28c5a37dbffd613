import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { request } from 'node:https';
import type { ComputeManagementClient } from '@azure/arm-compute';
import type { ComputeEmulator } from '../../../src/emulator/server';
import { computeClientFor, SUB, withEmulator } from '../../support/emulator';

const MIB = 1024 ** 2;
const fast = { updateIntervalInMs: 5 };
// What the product sends today (src/core/services/consistency.ts DEFAULT_SCRIPTS); modelled by Linux semantics.
const FREEZE = 'set -e; sync; for m in $(findmnt -rn -t ext4,xfs,btrfs -o TARGET | grep -v "^/$"); do fsfreeze -f "$m"; done';
const THAW = 'for m in $(findmnt -rn -t ext4,xfs,btrfs -o TARGET | grep -v "^/$"); do fsfreeze -u "$m" || true; done';

async function failure(p: Promise<unknown>): Promise<{ status?: number; code?: string; message?: string; name?: string }> {
  try {
    await p;
    return {};
  } catch (err) {
    const e = err as { statusCode?: number; code?: string; message?: string; name?: string };
    return { status: e.statusCode, code: e.code, message: e.message, name: e.name };
  }
}

/** GET on an admin route over the emulator's HTTPS, trusting its CA. */
function adminGet(emu: ComputeEmulator, path: string): Promise<any> {
  // eslint-disable-line @typescript-eslint/no-explicit-any
  return new Promise((resolve, reject) => {
    const req = request(`${emu.armEndpoint}${path}`, { ca: emu.caCert }, (res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve(JSON.parse(body)));
    });
    req.on('error', reject);
    req.end();
  });
}

const run = (c: ComputeManagementClient, vm: string, script: string, o: { abortSignal?: AbortSignal; windows?: boolean } = {}) =>
  c.virtualMachines.beginRunCommandAndWait('rg', vm, { commandId: o.windows ? 'RunPowerShellScript' : 'RunShellScript', script: [script] }, { ...fast, abortSignal: o.abortSignal });

describe('Run Command as Azure runs it (azure-compute-docs articles/virtual-machines/linux/run-command.md, Restrictions)', () => {
  let emu: ComputeEmulator;
  let c: ComputeManagementClient;
  const vmId = (name: string) => `/subscriptions/${SUB}/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/${name}`;
  beforeAll(async () => {
    emu = await withEmulator({ lroDelayMs: 0 });
    c = computeClientFor(emu);
    for (const name of ['lin1', 'lin2', 'lin3', 'lin4'])
      emu.createVm({
        subscriptionId: SUB,
        resourceGroup: 'rg',
        name,
        disks: [
          { name: `${name}-os`, sizeBytes: 32 * MIB, lun: -1 },
          { name: `${name}-d0`, sizeBytes: 32 * MIB, lun: 0 },
          { name: `${name}-d1`, sizeBytes: 32 * MIB, lun: 1 },
        ],
      });
    emu.createVm({ subscriptionId: SUB, resourceGroup: 'rg', name: 'win1', osType: 'Windows', disks: [{ name: 'win1-os', sizeBytes: 32 * MIB, lun: -1 }] });
  });
  afterAll(async () => emu?.close());

  it('freezes every non-root mount with fsfreeze -f and thaws with -u; the guest query shows what is frozen; writes to a frozen fs are refused', async () => {
    const frozen = await run(c, 'lin1', FREEZE);
    expect(frozen.value?.[0]?.code).toBe('ProvisioningState/succeeded');
    expect(emu.guests.allFrozen()).toEqual([{ vmId: emu.state.vm(vmId('lin1'))!.id, mounts: ['/data0', '/data1'] }]);
    const disk = emu.state.vm(vmId('lin1'))!.dataDisks[0]!.diskId;
    expect((await adminGet(emu, '/_emulator/guests/frozen')).items).toEqual([{ vmId: emu.state.vm(vmId('lin1'))!.id, mounts: ['/data0', '/data1'] }]);
    expect(emu.guests.writeBlockedBy(emu.state.vm(vmId('lin1'))!, disk)).toBe('/data0');
    expect(emu.guests.writeBlockedBy(emu.state.vm(vmId('lin1'))!, emu.state.vm(vmId('lin1'))!.osDiskId)).toBeUndefined(); // `/` is not frozen
    await run(c, 'lin1', THAW);
    expect(emu.guests.allFrozen()).toEqual([]);
  });

  it('a Linux non-zero exit is still ProvisioningState/succeeded, level Info; the exit status is only in the message (Azure/azure-cli#14425)', async () => {
    await run(c, 'lin2', 'fsfreeze -f /data0');
    // Freezing a frozen fs fails with EBUSY under set -e: the script exits 1.
    const r = await run(c, 'lin2', FREEZE);
    expect(r.value).toHaveLength(1);
    expect(r.value![0]!.code).toBe('ProvisioningState/succeeded');
    expect(r.value![0]!.level).toBe('Info');
    expect(r.value![0]!.message).toMatch(/exit status=1/);
    expect(r.value![0]!.message).toMatch(/freeze failed: Device or resource busy/);
    expect((await run(c, 'lin2', 'exit 123')).value![0]!.message).toMatch(/exit status=123/);
    await run(c, 'lin2', THAW);
    expect(emu.guests.frozenOf(emu.state.vm(vmId('lin2'))!)).toEqual([]);
  });

  it('Windows answers ComponentStatus/StdOut/succeeded and StdErr/succeeded even for Exit 1 (MicrosoftDocs/azure-docs-cli#4542)', async () => {
    const r = await run(c, 'win1', 'Write-Error "boom"; Exit 1', { windows: true });
    expect(r.value?.map((s) => s.code)).toEqual(['ComponentStatus/StdOut/succeeded', 'ComponentStatus/StdErr/succeeded']);
    expect(r.value?.every((s) => s.level === 'Info')).toBe(true);
  });

  it('a client abort does not cancel the script: it runs to its end and the guest is frozen ("You can\'t cancel a running script")', async () => {
    emu.runCommands.slow({ extraMs: 1500, times: 1 }); // a busy guest: the client gives up before the script ends
    const ac = new AbortController();
    const p = failure(run(c, 'lin3', FREEZE, { abortSignal: ac.signal }));
    await vi.waitFor(() => expect(emu.state.runCommands.some((r) => r.vmId === emu.state.vm(vmId('lin3'))!.id)).toBe(true));
    ac.abort();
    expect((await p).name).toBe('AbortError');
    expect(emu.guests.frozenOf(emu.state.vm(vmId('lin3'))!)).toEqual([]); // not yet: the script is still running
    await vi.waitFor(() => expect(emu.guests.frozenOf(emu.state.vm(vmId('lin3'))!)).toEqual(['/data0', '/data1']), { timeout: 10_000 });
    expect(emu.armStats.runCommandsUncollected).toBeGreaterThanOrEqual(1);
    await run(c, 'lin3', THAW);
    expect(emu.guests.allFrozen()).toEqual([]);
  });

  it('fault mode: the script runs but its result never comes back ("the scripts might run successfully but not return the results")', async () => {
    emu.runCommands.neverAnswer({ times: 1 });
    const ac = new AbortController();
    const p = failure(run(c, 'lin4', FREEZE, { abortSignal: ac.signal }));
    await vi.waitFor(() => expect(emu.guests.frozenOf(emu.state.vm(vmId('lin4'))!)).toEqual(['/data0', '/data1']));
    // The LRO is still running after the effect happened: nobody ever gets a result.
    const rec = emu.state.runCommands.filter((r) => r.vmId === emu.state.vm(vmId('lin4'))!.id).at(-1)!;
    expect(rec.neverAnswered).toBe(true);
    expect(rec.collected).toBeUndefined();
    ac.abort();
    await p;
    expect(emu.armStats.runCommandsNeverAnswered).toBe(1);
    await run(c, 'lin4', THAW);
  });

  it('a guest-side watchdog in the script, `( sleep N; fsfreeze -u ... ) &`, thaws N seconds (scaled) later', async () => {
    await run(c, 'lin4', 'fsfreeze -f /data1; ( sleep 30; fsfreeze -u /data1 ) &');
    await vi.waitFor(() => expect(emu.guests.frozenOf(emu.state.vm(vmId('lin4'))!)).toEqual([]));
    expect(emu.guests.watchdogsRun).toBeGreaterThanOrEqual(1);
  });
});

describe('Run Command minimum time and one script at a time (run-command.md Restrictions)', () => {
  let emu: ComputeEmulator;
  let c: ComputeManagementClient;
  beforeAll(async () => {
    // An unscaled 20 s minimum would hold the test; 60 s here so the first script is surely still running.
    emu = await withEmulator({ lroDelayMs: 0, fidelity: { runCommandMinMs: 60_000 } });
    c = computeClientFor(emu);
    emu.createVm({ subscriptionId: SUB, resourceGroup: 'rg', name: 'busy1', disks: [{ name: 'busy1-os', sizeBytes: 32 * MIB, lun: -1 }] });
  });
  afterAll(async () => emu?.close());

  it('the LRO is still running before the minimum time, and a second script is refused with 409 Conflict (MicrosoftDocs/azure-docs#43356)', async () => {
    const poller = await c.virtualMachines.beginRunCommand('rg', 'busy1', { commandId: 'RunShellScript', script: ['true'] }, fast);
    await poller.poll();
    expect(poller.isDone()).toBe(false);
    const second = await failure(run(c, 'busy1', 'true'));
    expect(second.status).toBe(409);
    expect(second.code).toBe('Conflict');
    expect(second.message).toBe('Run command extension execution is in progress. Please wait for completion before invoking a run command.');
    expect(emu.armStats.runCommandsRefusedBusy).toBe(1);
  });

  it('the default minimum is 20 s divided by timeScale', () => {
    expect(emu.fidelity.timeScale).toBe(1000);
    expect(emu.fidelity.runCommandMinMs).toBe(60_000);
  });
});
