import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startComputeEmulator, type ComputeEmulator } from '../../src/emulator/server';
import { ArmComputeAdapter } from '../../src/core/adapters/azure/compute';
import { SUB } from '../support/emulator';
import type { VmInfo } from '../../src/core/ports/compute';

const MIB = 1024 ** 2;

/**
 * Discovery lists a subscription's VMs with their run-time status (virtualMachines listAll with statusOnly=true,
 * https://learn.microsoft.com/rest/api/compute/virtual-machines/list-all) and its disks in one list
 * (https://learn.microsoft.com/rest/api/compute/disks/list), instead of a GET per VM and per disk (AZURE-FIDELITY m9).
 */
describe('discovery of a subscription over the emulator', () => {
  let emu: ComputeEmulator;
  beforeAll(async () => {
    emu = await startComputeEmulator({ lroDelayMs: 0, pageSize: 100 });
  });
  afterAll(async () => emu?.close());

  it('costs three paged lists, not a GET per VM and per disk, and reads the same VMs', async () => {
    for (let n = 0; n < 4; n++) {
      emu.createVm({
        subscriptionId: SUB,
        resourceGroup: `rg${n % 2}`,
        name: `vm${n}`,
        powerState: n === 3 ? 'deallocated' : 'running',
        disks: [0, 1, 2].map((i) => ({ name: `vm${n}-d${i}`, sizeBytes: (32 + i) * MIB, lun: i - 1, sku: i === 2 ? 'StandardSSD_LRS' : undefined })),
      });
    }
    const compute = new ArmComputeAdapter({ credential: emu.credential, subscriptionIds: [SUB], endpoint: emu.armEndpoint, clientOptions: { tlsOptions: { ca: emu.caCert } } });
    emu.operations.clear();
    const listed: VmInfo[] = [];
    for await (const vm of compute.listVms(SUB)) listed.push(vm);
    const reads = emu.operations.list.filter((o) => o.method === 'GET');
    const kind = (path: string): string => (/^\/subscriptions\/[^/]+\/providers\/Microsoft\.Compute\/[A-Za-z]+$/.test(path) ? 'list' : 'get');
    expect(reads.map((o) => `${o.resourceType} ${kind(o.path)}`)).toEqual(['Microsoft.Compute/virtualMachines list', 'Microsoft.Compute/disks list', 'Microsoft.Compute/virtualMachines list']);
    expect(listed).toHaveLength(4);
    // The same answer as a GET per VM gives.
    for (const vm of listed) {
      const one = (await compute.getVm(vm.id))!;
      expect({ ...vm, guestAgentReady: one.guestAgentReady }).toEqual(one);
    }
    expect(listed.find((v) => v.name === 'vm3')!.powerState).toBe('deallocated');
    expect(listed.find((v) => v.name === 'vm0')!.disks.map((d) => [d.lun, d.sizeBytes, d.sku])).toEqual([
      [-1, 32 * MIB, 'Premium_LRS'],
      [0, 33 * MIB, 'Premium_LRS'],
      [1, 34 * MIB, 'StandardSSD_LRS'],
    ]);
  });
});
