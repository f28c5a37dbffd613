import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHostStack, type HostStack } from '../support/host-stack';
import { followJob } from '../support/job-progress';
import { SUB } from '../support/emulator';
import { EmulatorState } from '../../src/emulator/arm/state';
import { fill } from '../../src/emulator/guest';
import type { VmSpec } from '../../src/emulator/admin';

const MIB = 1024 ** 2;
const os = (name: string) => ({ name: `${name}-os`, sizeBytes: 32 * MIB, lun: -1 });
const data = (name: string, extra: Partial<VmSpec['disks'][number]> = {}) => ({ name: `${name}-data`, sizeBytes: 32 * MIB, lun: 0, ...extra });

/**
 * Each disk kind the emulator represents, as Azure documents it, and the answer registration gives over HTTP.
 * (Disks with dataAccessAuthMode AzureActiveDirectory are backed up with the app's Entra token:
 * test/integration/entra-disks.test.ts.)
 * - ephemeral OS disk (diffDiskSettings): no "Disk snapshots" (articles/virtual-machines/ephemeral-os-disks.md);
 * - Write Accelerator on the OS disk: snapshots only of WA data disks (how-to-enable-write-accelerator.md);
 * - unmanaged data disk (vhd.uri): no managed snapshot exists;
 * - shared disk (maxShares > 1): includes/virtual-machines-disks-shared-limitations.md;
 * - networkAccessPolicy DenyAll ("Disk cannot be exported") and AllowPrivate (private endpoint only), disk.json.
 */
const REFUSED: [VmSpec, string][] = [
  [{ subscriptionId: SUB, resourceGroup: 'kinds', name: 'eph1', ephemeralOs: true, disks: [os('eph1')] }, 'EphemeralOsDiskNotSupported'],
  [{ subscriptionId: SUB, resourceGroup: 'kinds', name: 'wa1', writeAcceleratedOs: true, disks: [os('wa1')] }, 'WriteAcceleratedOsDisk'],
  [
    {
      subscriptionId: SUB,
      resourceGroup: 'kinds',
      name: 'vhd1',
      disks: [os('vhd1')],
      unmanagedDataDisks: [{ lun: 0, name: 'vhd1-data', vhdUri: 'https://legacy.blob.core.windows.net/vhds/vhd1-data.vhd' }],
    },
    'UnmanagedDisksNotSupported',
  ],
  [{ subscriptionId: SUB, resourceGroup: 'kinds', name: 'sh1', disks: [os('sh1'), data('sh1', { maxShares: 2 })] }, 'SharedDiskNotSupported'],
  [{ subscriptionId: SUB, resourceGroup: 'kinds', name: 'deny1', disks: [os('deny1'), data('deny1', { networkAccessPolicy: 'DenyAll' })] }, 'DiskExportDenied'],
  [
    {
      subscriptionId: SUB,
      resourceGroup: 'kinds',
      name: 'pe1',
      disks: [os('pe1'), data('pe1', { networkAccessPolicy: 'AllowPrivate', diskAccessId: `/subscriptions/${SUB}/resourceGroups/kinds/providers/Microsoft.Compute/diskAccesses/da1` })],
    },
    'DiskPrivateEndpointOnly',
  ],
];

describe('every disk kind gets a clear answer over HTTP', () => {
  let s: HostStack;
  beforeAll(async () => {
    s = await startHostStack();
  }, 60_000);
  afterAll(async () => s?.stop());

  it('refuses, at registration, the disks Azure cannot snapshot or export, each with its code and what to do', { timeout: 120_000 }, async () => {
    const ids = REFUSED.map(([spec]) => s.emulator.createVm(spec).id);
    const reg = await s.call('POST', 'items/register', { vmIds: ids });
    expect(reg.status, JSON.stringify(reg.body)).toBe(202);
    const jobs = reg.body.jobs as { jobId: string }[];
    for (const [i, [spec, code]] of REFUSED.entries()) {
      const job = await followJob(s, jobs[i]!.jobId);
      expect([spec.name, job.status, job.error?.code]).toEqual([spec.name, 'Failed', code]);
      expect(job.error.message).toContain(spec.name);
      expect(job.error.recommendedAction.length).toBeGreaterThan(20);
    }
    const items = (await s.call('GET', 'items')).body.items as unknown[];
    expect(items).toHaveLength(0);
  });

  it('admits a Premium SSD v2 disk and backs it up, and the point says whether its disks are one consistent set', { timeout: 120_000 }, async () => {
    const vm = s.emulator.createVm({ subscriptionId: SUB, resourceGroup: 'kinds', name: 'pv2', zones: ['1'], disks: [os('pv2'), data('pv2', { sku: 'PremiumV2_LRS' })] });
    fill(s.emulator.store, EmulatorState.key(s.emulator.state.vm(vm.id)!.dataDisks[0]!.diskId), 0, MIB, 3);
    const reg = await s.call('POST', 'items/register', { vmIds: [vm.id] });
    expect((await followJob(s, reg.body.jobs[0].jobId)).status).toBe('Completed');
    const item = ((await s.call('GET', 'items')).body.items as { itemKey: string; vmName: string }[]).find((i) => i.vmName === 'pv2')!;
    const now = await s.call('POST', `items/${encodeURIComponent(item.itemKey)}/backup`, {});
    expect(now.status).toBe(202);
    const job = await followJob(s, now.body.jobId);
    expect(job.status, JSON.stringify(job.error)).toBe('Completed');
    const point = await s.call('GET', `items/${encodeURIComponent(item.itemKey)}/recoveryPoints/${encodeURIComponent(job.result.recoveryPointId)}`);
    expect(point.status).toBe(200);
    // Two disks snapshotted without a quiesced guest: each crash-consistent, not a write-order-consistent set.
    expect([point.body.consistency, point.body.disksConsistentSet]).toEqual(['CrashConsistent', false]);
  });
});
