import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ArmComputeAdapter } from '../../src/core/adapters/azure/compute';
import { startComputeEmulator, type ComputeEmulator } from '../../src/emulator/server';
import { SUB } from '../support/memory-deps';

const MIB = 1024 * 1024;
// The operation a Run Command hands back (Azure-AsyncOperation / Location), polled until the script ends.
const POLLS = /\/providers\/Microsoft\.Compute\/locations\/[^/]+\/operations\//i;

/**
 * Polls of an accepted Run Command throttled by ARM (429 with Retry-After,
 * https://learn.microsoft.com/azure/azure-resource-manager/management/request-limits-and-throttling): the script
 * is already in the guest, so the adapter waits and polls the same operation again instead of giving up on it.
 * Given up, the caller's thaw would be sent again, its polls throttled in turn.
 */
describe('Run Command polls throttled by ARM (emulator, real ARM client)', () => {
  let emu: ComputeEmulator;
  let compute: ArmComputeAdapter;
  beforeAll(async () => {
    emu = await startComputeEmulator({ lroDelayMs: 0 });
    // ARM time 100x: the 60 s client wait is 600 ms.
    compute = new ArmComputeAdapter({
      credential: emu.credential,
      subscriptionIds: [SUB],
      endpoint: emu.armEndpoint,
      clientOptions: { tlsOptions: { ca: emu.caCert } },
      pollIntervalMs: 5,
      timeScale: 100,
    });
  });
  afterAll(async () => emu?.close());

  // The SDK's begin call polls once itself; the 429s come after it, while the adapter waits for the script's end.
  it('one script, its result collected, through more 429s than the SDK retries by itself', async () => {
    const vm = emu.createVm({ subscriptionId: SUB, resourceGroup: 'rg', name: 'vm1', disks: [{ name: 'vm1-os', sizeBytes: 32 * MIB, lun: -1 }] });
    emu.faults.inject({ plane: 'arm', method: 'GET', path: POLLS, status: 429, code: 'TooManyRequests', retryAfter: 0, times: 8, after: 1 });
    const before = emu.state.runCommands.length;
    const injectedBefore = emu.faults.injected;
    const r = await compute.runCommand(vm.id, 'Linux', 'echo hello', 60);
    expect(r.succeeded).toBe(true);
    expect(emu.faults.injected - injectedBefore).toBe(8);
    expect(emu.state.runCommands.length - before).toBe(1);
    expect(emu.armStats.runCommandsUncollected).toBe(0);
  });
});
