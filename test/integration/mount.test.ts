import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAppStack, type AppStack } from '../support/app-stack';
import { SUB } from '../support/emulator';
import { EmulatorState } from '../../src/emulator/arm/state';
import { fill, fingerprint } from '../../src/emulator/guest';
import { backupNow, requestRegistration } from '../../src/core/workflows/protection/protection';
import { getMount, requestMount, requestUnmount } from '../../src/core/workflows/mount/mount';
import { mountStep } from '../../src/core/workflows/mount/steps';
import { unmountStep } from '../../src/core/workflows/mount/mount';
import { MOUNT_QUEUES, mountOf } from '../../src/core/workflows/mount/plan';
import { reconcile } from '../../src/core/jobs/reconciler';
import { getJob } from '../../src/core/jobs/jobs';
import { httpStatusFor, VmBackupError } from '../../src/core/errors';
import { itemKeyFor } from '../../src/core/store/layout';
import type { ComputePort } from '../../src/core/ports/compute';

const MIB = 1024 ** 2;

/**
 * File recovery on the Azure-strict stack: the real @azure/arm-compute client against the compute emulator,
 * the backup storage on Azurite. Attach and detach are VM updates of storageProfile.dataDisks (azure-docs
 * articles/virtual-machines/windows/attach-disk-ps.md, detach-disk.md); the emulator refuses more data disks
 * than the size allows (409 OperationNotAllowed, kubernetes-sigs/azuredisk-csi-driver#2883; dv5-dsv5-series.md),
 * zonal disks on a VM of another zone (disks-redundancy.md), and caching other than None on Ultra disks.
 */
describe('mount a recovery point on a helper VM (Azurite + compute emulator)', () => {
  let s: AppStack;
  let itemKey: string;
  let pointId: string;
  /** SHA-256 of every byte of each source disk when the point was taken, by disk key. */
  const reference: Record<string, string> = {};
  const helpers: Record<string, string> = {};

  beforeAll(async () => {
    s = await startAppStack({ VMBACKUP_SEGMENT_SIZE_MIB: '32' }, [], { [MOUNT_QUEUES.mount]: mountStep, [MOUNT_QUEUES.unmount]: unmountStep });
    const vm = s.emulator.createVm({
      subscriptionId: SUB,
      resourceGroup: 'rg',
      name: 'src',
      zones: ['1'],
      disks: [
        { name: 'src-os', sizeBytes: 64 * MIB, lun: -1 },
        { name: 'src-d0', sizeBytes: 48 * MIB, lun: 0 },
      ],
    });
    fill(s.emulator.store, EmulatorState.key(vm.osDiskId), 0, 3 * MIB, 1);
    fill(s.emulator.store, EmulatorState.key(vm.dataDisks[0]!.diskId), 5 * MIB + 512, 7 * MIB, 2);
    fill(s.emulator.store, EmulatorState.key(vm.dataDisks[0]!.diskId), 48 * MIB - 4096, 4096, 3);
    itemKey = itemKeyFor(vm.id);
    await requestRegistration(s.deps, [vm.id]);
    await s.drain();
    const b = await backupNow(s.deps, itemKey);
    await s.drain();
    expect((await getJob(s.deps, b.jobId)).status).toBe('Completed');
    pointId = b.jobId;
    reference.os = fingerprint(s.emulator.store, EmulatorState.key(vm.osDiskId));
    reference['lun-0'] = fingerprint(s.emulator.store, EmulatorState.key(vm.dataDisks[0]!.diskId));
    // The guest writes on: a mount shows the point, not today's disks.
    fill(s.emulator.store, EmulatorState.key(vm.dataDisks[0]!.diskId), 0, MIB, 9);
    const helper = (name: string, extra: Record<string, unknown> = {}): string =>
      s.emulator.createVm({ subscriptionId: SUB, resourceGroup: 'helpers', name, zones: ['1'], vmSize: 'Standard_D2s_v5', disks: [{ name: `${name}-os`, sizeBytes: 32 * MIB, lun: -1 }], ...extra }).id;
    helpers.instant = helper('h-instant');
    helpers.vault = helper('h-vault');
    helpers.crash = helper('h-crash');
    helpers.small = helper('h-small', {
      vmSize: 'Standard_B1s',
      disks: [
        { name: 'h-small-os', sizeBytes: 32 * MIB, lun: -1 },
        { name: 'h-small-d', sizeBytes: 32 * MIB, lun: 0 },
      ],
    });
    helpers.zone2 = helper('h-zone2', { zones: ['2'] });
    helpers.deallocating = helper('h-dealloc');
  }, 300_000);
  afterAll(async () => s?.stop());

  /** The helper VM as ARM reports it, with each attached disk's content fingerprint. */
  const attached = (vmId: string): { lun: number; diskId: string; caching?: string; sha: string }[] =>
    s.emulator.state.vm(vmId)!.dataDisks.map((d) => ({ lun: d.lun, diskId: d.diskId, caching: d.caching, sha: fingerprint(s.emulator.store, EmulatorState.key(d.diskId)) }));

  const mounted = async (helperVmId: string): Promise<string> => {
    const job = await requestMount(s.deps, { itemKey, pointId, helperVmId, durationMinutes: 30 });
    await s.drain();
    const view = await getMount(s.deps, job.jobId);
    expect(view.state, JSON.stringify(view.error)).toBe('Mounted');
    const disks = attached(helperVmId);
    expect(disks).toHaveLength(2);
    for (const d of view.disks!) {
      const onVm = disks.find((x) => x.lun === d.lun)!;
      expect(onVm.diskId.toLowerCase()).toBe(d.diskId.toLowerCase());
      expect(onVm.caching).toBe('ReadOnly');
      expect(onVm.sha, d.diskKey).toBe(reference[d.diskKey]);
    }
    expect(view.commands.join('\n')).toContain('/dev/disk/azure/scsi1/lun');
    return job.jobId;
  };

  const gone = (helperVmId: string, diskIds: string[]): void => {
    expect(s.emulator.state.vm(helperVmId)!.dataDisks).toEqual([]);
    for (const id of diskIds) expect(s.emulator.state.disk(id), id).toBeUndefined();
  };

  it('mounts from the source snapshots: exact disks on the helper, gone after unmount', { timeout: 120_000 }, async () => {
    const id = await mounted(helpers.instant!);
    const restore = await getJob(s.deps, mountOf(await getJob(s.deps, id)).restoreJobId!);
    expect(restore.result.source).toBe('snapshot');
    const diskIds = attached(helpers.instant!).map((d) => d.diskId);
    await requestUnmount(s.deps, id);
    await s.drain();
    expect((await getMount(s.deps, id)).state).toBe('Unmounted');
    gone(helpers.instant!, diskIds);
  });

  it('mounts from the vault once the snapshots are gone, and is taken apart at its deadline', { timeout: 180_000 }, async () => {
    const point = (await s.deps.repos.points.get(itemKey, pointId))!.doc;
    for (const d of point.disks) await s.deps.compute.deleteSnapshot(d.sourceSnapshotId);
    const id = await mounted(helpers.vault!);
    const restore = await getJob(s.deps, mountOf(await getJob(s.deps, id)).restoreJobId!);
    expect(restore.result.source).toBe('vault');
    const diskIds = attached(helpers.vault!).map((d) => d.diskId);
    const expiresAt = Date.parse(mountOf(await getJob(s.deps, id)).expiresAt!);
    // Compressed time: the reconciler runs as if 29 minutes, then 31 minutes, had passed.
    await reconcile(s.deps, new Date(expiresAt - 60_000));
    expect(attached(helpers.vault!)).toHaveLength(2);
    await reconcile(s.deps, new Date(expiresAt + 60_000));
    expect(await getMount(s.deps, id)).toMatchObject({ state: 'Unmounted', unmountReason: 'Expired' });
    gone(helpers.vault!, diskIds);
  });

  it('refuses a helper without free LUNs for its size, in another zone, or between power states, before anything is made', async () => {
    const disks = s.emulator.state.disks.size;
    const code = async (helperVmId: string): Promise<[number, string]> => {
      const err = await requestMount(s.deps, { itemKey, pointId, helperVmId }).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(VmBackupError);
      return [httpStatusFor(err), (err as VmBackupError).code];
    };
    expect(await code(helpers.small!)).toEqual([409, 'MountNotEnoughLuns']);
    expect(await code(helpers.zone2!)).toEqual([409, 'MountZoneMismatch']);
    s.emulator.state.vm(helpers.deallocating!)!.powerState = 'deallocating' as never;
    expect((await code(helpers.deallocating!))[0]).toBe(409);
    expect(s.emulator.state.disks.size).toBe(disks);
    // The emulator itself refuses the attach Azure would refuse: a second data disk on a B1s holding one... of 2.
    const d = s.emulator.state.vm(helpers.small!)!.dataDisks[0]!;
    const spare = s.emulator.createVm({
      subscriptionId: SUB,
      resourceGroup: 'helpers',
      name: 'spare',
      zones: ['1'],
      disks: [
        { name: 'spare-os', sizeBytes: 32 * MIB, lun: -1 },
        { name: 'spare-a', sizeBytes: 32 * MIB, lun: 0 },
        { name: 'spare-b', sizeBytes: 32 * MIB, lun: 1 },
      ],
    });
    await s.deps.compute.detachDataDisks(spare.id, [0, 1]);
    const [a, b] = [...s.emulator.state.disks.values()].filter((x) => /^spare-[ab]$/.test(x.name));
    const refused = await s.deps.compute
      .attachDataDisks(helpers.small!, [
        { lun: 1, diskId: a!.id },
        { lun: 2, diskId: b!.id },
      ])
      .then(
        () => undefined,
        (e: unknown) => e as { statusCode?: number; code?: string; message?: string },
      );
    expect(refused).toMatchObject({ statusCode: 409, code: 'OperationNotAllowed' });
    expect(refused!.message).toContain('maximum number of data disks allowed to be attached to a VM of this size is 2');
    expect(s.emulator.state.vm(helpers.small!)!.dataDisks.map((x) => x.diskId)).toEqual([d.diskId]);
    // Ultra Disks "don't support disk caching" (includes/managed-disks-ultra-disks-GA-scope-and-limitations.md).
    const ultra = s.emulator.createVm({
      subscriptionId: SUB,
      resourceGroup: 'helpers',
      name: 'ultra',
      zones: ['1'],
      disks: [
        { name: 'ultra-os', sizeBytes: 32 * MIB, lun: -1 },
        { name: 'ultra-d', sizeBytes: 32 * MIB, lun: 0, sku: 'UltraSSD_LRS' },
      ],
    });
    const ultraDisk = ultra.dataDisks[0]!.diskId;
    await s.deps.compute.detachDataDisks(ultra.id, [0]);
    const cached = await s.deps.compute.attachDataDisks(helpers.instant!, [{ lun: 0, diskId: ultraDisk, caching: 'ReadOnly' }]).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(cached).toMatchObject({ statusCode: 409, code: 'OperationNotAllowed' });
    await s.deps.compute.attachDataDisks(helpers.instant!, [{ lun: 0, diskId: ultraDisk, caching: 'None' }]);
    await s.deps.compute.detachDataDisks(helpers.instant!, [0]);
  });

  it('a crash between the attach and its record, then a failed cleanup, leaves no orphan after the sweep', { timeout: 180_000 }, async () => {
    const real = s.deps.compute;
    let detachFailures = 1;
    const dying: ComputePort = Object.create(real) as ComputePort;
    dying.attachDataDisks = async (vmId, disks) => {
      await real.attachDataDisks(vmId, disks);
      throw new Error('process killed after the attach');
    };
    dying.detachDataDisks = async (vmId, luns) => {
      if (detachFailures-- > 0) throw new Error('ARM unreachable');
      return real.detachDataDisks(vmId, luns);
    };
    const before = new Set(s.emulator.state.disks.keys());
    const job = await requestMount(s.deps, { itemKey, pointId, helperVmId: helpers.crash! });
    // The steps read deps.compute at each call: the stack's own drain runs them on the dying port.
    s.deps.compute = dying;
    try {
      await s.drain();
    } finally {
      s.deps.compute = real;
    }
    expect((await getJob(s.deps, job.jobId)).status).toBe('Failed');
    expect(attached(helpers.crash!)).toHaveLength(2); // the failing cleanup could not detach
    await reconcile(s.deps);
    expect(attached(helpers.crash!)).toEqual([]);
    expect([...s.emulator.state.disks.keys()].filter((k) => !before.has(k))).toEqual([]);
  });
});
