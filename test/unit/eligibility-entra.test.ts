import { describe, expect, it } from 'vitest';
import { eligibilityProblem } from '../../src/core/workflows/protection/eligibility';
import type { VmInfo } from '../../src/core/ports/compute';
import { memoryDeps, MIB, SUB } from '../support/memory-deps';
import { requestRegistration } from '../../src/core/workflows/protection/protection';
import { finished } from '../support/memory-fixtures';

const vm = (mode?: string): VmInfo => ({
  id: `/subscriptions/${SUB}/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/aad1`,
  name: 'aad1',
  resourceGroup: 'rg',
  subscriptionId: SUB,
  location: 'westeurope',
  osType: 'Linux',
  powerState: 'running',
  guestAgentReady: true,
  tags: {},
  disks: [
    { lun: -1, diskId: 'os', name: 'aad1-os', sizeBytes: 32 * MIB },
    { lun: 0, diskId: 'd0', name: 'aad1-data', sizeBytes: 32 * MIB, ...(mode ? { dataAccessAuthMode: mode } : {}) },
  ],
});

/**
 * dataAccessAuthMode AzureActiveDirectory: export and upload need an Entra identity as well as the SAS
 * (azure-compute-docs articles/virtual-machines/disks-secure-upload-download.md). Admitted when the app has an
 * identity for disk data; refused, saying what to do, when it runs without one.
 */
describe('Entra-only disks at registration', () => {
  it('admits them when the data plane sends Entra tokens, and refuses them with what to do when it cannot', () => {
    expect(eligibilityProblem(vm('AzureActiveDirectory'), { entraDataAccess: true })).toBeUndefined();
    expect(eligibilityProblem(vm('None'), { entraDataAccess: false })).toBeUndefined();
    const refused = eligibilityProblem(vm('AzureActiveDirectory'), { entraDataAccess: false })!;
    expect(refused.code).toBe('DiskRequiresEntraDataAccess');
    expect(refused.message).toMatch(/Disk 'aad1-data' of VM 'aad1' requires Entra ID authentication .* no identity/);
    expect(refused.recommendedAction).toMatch(/managed identity.*Data Operator for Managed Disks/);
  });

  it('a registration job on a data plane without an identity ends Failed with that code', async () => {
    const s = memoryDeps();
    expect(s.deps.dataPlane.entraDataAccess).toBe(false);
    const cloudVm = s.cloud.createVm({ subscriptionId: SUB, resourceGroup: 'rg', name: 'aad1', disks: [{ name: 'aad1-os', sizeBytes: 32 * MIB, lun: -1 }] });
    // The memory cloud does not model the mode: the VM it reports is given the Entra-only data disk.
    const getVm = s.deps.compute.getVm.bind(s.deps.compute);
    s.deps.compute.getVm = async (id) => {
      const v = await getVm(id);
      return v && { ...v, disks: [...v.disks, { ...vm('AzureActiveDirectory').disks[1]! }] };
    };
    const [job] = await requestRegistration(s.deps, [cloudVm.id]);
    await s.drain();
    expect((await finished(s, job!.jobId, 'Failed')).error!.code).toBe('DiskRequiresEntraDataAccess');
  });
});
