import { expect } from 'vitest';
import type { AppStack } from '../support/app-stack';
import { SUB } from '../support/emulator';
import { fill } from '../../src/emulator/guest';
import { EmulatorState } from '../../src/emulator/arm/state';
import type { RecordedOperation } from '../../src/emulator/arm/operation-log';
import { backupNow, requestProtection, requestRegistration } from '../../src/core/workflows/protection/protection';
import { requestRestore } from '../../src/core/workflows/restore/restore';
import { retentionRun } from '../../src/core/workflows/protection/retention';
import { discoveryStep, requestDiscovery } from '../../src/core/workflows/discovery/discovery';
import { getMount, requestMount, requestUnmount } from '../../src/core/workflows/mount/mount';
import { reconcile } from '../../src/core/jobs/reconciler';
import { getJob } from '../../src/core/jobs/jobs';
import { itemKeyFor } from '../../src/core/store/layout';
import { requestCancel } from '../../src/core/jobs/run-step';
import type { Deps } from '../../src/core/jobs/deps';
import type { PipelinePolicy } from '@azure/core-rest-pipeline';
import { strictAzureLimitsPolicy } from '../../src/local/strict-limits';

const MIB = 1024 ** 2,
  DAY = 86_400_000;

/**
 * An ARM request as the permission Azure checks for it: `{resourceType}/read|write|delete` for GET, PUT/PATCH and
 * DELETE, `{resourceType}/{action}/action` for a POST action
 * (https://learn.microsoft.com/azure/role-based-access-control/role-definitions#actions-format; the strings as
 * listed in https://learn.microsoft.com/azure/role-based-access-control/resource-provider-operations#microsoftcompute).
 */
export function rbacAction(op: RecordedOperation): string {
  return op.method === 'POST' ? `${op.resourceType}/${op.action}/action` : `${op.resourceType}/${op.action}`;
}

/** Which optional feature a flow needs; `core` is what every deployment needs. */
export type Feature = 'core' | 'runCommand' | 'replaceDisks' | 'newVm' | 'mount' | 'entraDisks';
const FEATURES: Feature[] = ['core', 'runCommand', 'replaceDisks', 'newVm', 'mount', 'entraDisks'];

/** What each feature's flows called: ARM operations as RBAC actions, and the data actions of Entra-only disk data. */
export interface FlowsSeen {
  seen: Record<Feature, Set<string>>;
  data: Record<Feature, Set<string>>;
  cancelledRestore: string;
}

/**
 * The product's flows that reach ARM, each through the real services on Azurite and the compute emulator, with the
 * ARM operations recorded per feature: register, protect, discovery, backups (crash and file-system consistent),
 * restores to new disks from the vault (with a redelivered step) and from the source snapshots, replace disks,
 * new VM, mount and unmount, backup and restore of an Entra-only disk, retention with purge and snapshot pruning,
 * reconcile. The emulator's data plane names the data actions of the Entra-only disks' requests beside them.
 */
export async function runProductFlows(s: AppStack, canceller: RestoreCanceller): Promise<FlowsSeen> {
  let cancelledRestore = '';
  const seen = Object.fromEntries(FEATURES.map((f) => [f, new Set<string>()])) as Record<Feature, Set<string>>;
  const data = Object.fromEntries(FEATURES.map((f) => [f, new Set<string>()])) as Record<Feature, Set<string>>;
  const dataActions = s.emulator.dataStats.dataActions;
  const as = async (feature: Feature, flow: () => Promise<void>): Promise<void> => {
    s.emulator.operations.clear();
    for (const a of Object.keys(dataActions)) delete dataActions[a];
    await flow();
    for (const op of s.emulator.operations.list) seen[feature].add(rbacAction(op));
    for (const a of Object.keys(dataActions)) data[feature].add(a);
  };
  const done = async (jobId: string, status: string | RegExp = 'Completed'): Promise<void> => {
    await s.drain();
    const j = await getJob(s.deps, jobId);
    if (typeof status === 'string') expect(j.status, JSON.stringify(j.error)).toBe(status);
    else expect(j.status, JSON.stringify(j.error)).toMatch(status);
    s.emulator.clock.advance(60_000); // Azure's incremental-snapshot rate per disk
  };

  const vm = s.emulator.createVm({
    subscriptionId: SUB,
    resourceGroup: 'rg',
    name: 'app1',
    disks: [
      { name: 'app1-os', sizeBytes: 32 * MIB, lun: -1 },
      { name: 'app1-d0', sizeBytes: 48 * MIB, lun: 0 },
    ],
  });
  // An OS-disk-only VM built on an attached disk: the one shape whose disks Azure lets the app swap (B2).
  const swap = s.emulator.createVm({ subscriptionId: SUB, resourceGroup: 'rg', name: 'swap1', osCreateOption: 'Attach', disks: [{ name: 'swap1-os', sizeBytes: 32 * MIB, lun: -1 }] });
  const key = itemKeyFor(vm.id),
    swapKey = itemKeyFor(swap.id);
  for (const id of [vm.osDiskId, vm.dataDisks[0]!.diskId, swap.osDiskId]) fill(s.emulator.store, EmulatorState.key(id), MIB, 6 * MIB, 3);
  await s.deps.repos.policies.insert({
    name: 'daily',
    timeZone: 'UTC',
    schedule: { frequency: 'Daily', times: ['02:00'] },
    retention: { dailyDays: 7 },
    instantRestoreDays: 1,
    consistency: { mode: 'CrashConsistent', scriptTimeoutSeconds: 60 },
  });
  await s.deps.repos.policies.insert({
    name: 'fs',
    timeZone: 'UTC',
    schedule: { frequency: 'Daily', times: ['02:00'] },
    retention: { dailyDays: 7 },
    instantRestoreDays: 1,
    consistency: { mode: 'FileSystemConsistent', scriptTimeoutSeconds: 60, thawAfterSeconds: 300 },
  });

  await as('core', async () => {
    // The stack's drain polls the core queues only: the discovery step is delivered here.
    const discovery = (await requestDiscovery(s.deps)).job.jobId;
    await discoveryStep(s.deps, { jobId: discovery });
    await done(discovery);
    expect((await getJob(s.deps, discovery)).result.vms).toBe(2);
    for (const j of await requestRegistration(s.deps, [vm.id, swap.id])) await done(j.jobId);
    for (const j of await requestProtection(s.deps, [key, swapKey], 'daily')) await done(j.jobId);
    await done((await backupNow(s.deps, key)).jobId);
    fill(s.emulator.store, EmulatorState.key(vm.osDiskId), 0, 2 * MIB, 9);
    await done((await backupNow(s.deps, key)).jobId);
    await done((await backupNow(s.deps, swapKey)).jobId);
    const [newest] = await s.deps.repos.points.all(key);
    // From the vault (the data through the app) and from the source snapshots (instant restore, what `auto` takes
    // while they exist): each calls its own operations.
    await done((await requestRestore(s.deps, { itemKey: key, pointId: newest!.pointId, mode: 'newDisks', targetResourceGroup: 'restored', source: 'vault' })).jobId);
    const instant = await requestRestore(s.deps, { itemKey: key, pointId: newest!.pointId, mode: 'newDisks', targetResourceGroup: 'instant', source: 'snapshot' });
    await done(instant.jobId);
    expect((await getJob(s.deps, instant.jobId)).result.source).toBe('snapshot');
    // A redelivered restore step finds the disk an earlier attempt finished but did not record (that attempt died
    // between revoking the disk's access and saving its progress): content unknown, so it is deleted and rewritten.
    const again = await requestRestore(s.deps, { itemKey: key, pointId: newest!.pointId, mode: 'newDisks', targetResourceGroup: 'restored', source: 'vault' });
    const leftover = `app1-os-r${again.jobId.slice(-8)}`;
    s.emulator.resources.putDisk(SUB, 'restored', leftover, { location: 'westeurope', sku: { name: 'Premium_LRS' }, properties: { creationData: { createOption: 'Empty' }, diskSizeBytes: 32 * MIB } });
    await done(again.jobId);
    expect(s.emulator.operations.list.some((o) => o.method === 'DELETE' && o.path.endsWith(`/disks/${leftover}`))).toBe(true);
    // A restore cancelled while it writes a disk (see the expected failure in roles.test.ts).
    cancelledRestore = (await requestRestore(s.deps, { itemKey: key, pointId: newest!.pointId, mode: 'newDisks', targetResourceGroup: 'restored', source: 'vault' })).jobId;
    canceller.arm(s.deps, cancelledRestore);
    await done(cancelledRestore, 'Cancelled');
    // Retention: an expired point is soft-deleted, then purged; source snapshots past instant restore are pruned.
    const points = await s.deps.repos.points.all(key);
    await s.deps.repos.points.update(key, points[points.length - 1]!.pointId, (p) => {
      p.expiresAt = new Date(s.emulator.clock.now() - 1000);
    });
    await retentionRun(s.deps);
    s.emulator.clock.advance(20 * DAY);
    await retentionRun(s.deps);
    await reconcile(s.deps);
  });

  await as('runCommand', async () => {
    for (const j of await requestProtection(s.deps, [key], 'fs')) await done(j.jobId);
    // The operations are what is derived here, not the label: at the emulator's 1000x ARM time the guest's
    // watchdog (300 s) is 300 ms, which a loaded machine can pass before the thaw runs (then: with warnings).
    await done((await backupNow(s.deps, key)).jobId, /^Completed(WithWarnings)?$/);
  });

  await as('replaceDisks', async () => {
    const [point] = await s.deps.repos.points.all(swapKey);
    await done((await requestRestore(s.deps, { itemKey: swapKey, pointId: point!.pointId, mode: 'replaceDisks' })).jobId);
  });

  await as('newVm', async () => {
    s.emulator.network.putVnet(SUB, 'net', 'vnet1', { location: 'westeurope', properties: { subnets: [{ name: 'default', properties: { addressPrefix: '10.9.0.0/24' } }] } });
    const subnetId = `/subscriptions/${SUB}/resourceGroups/net/providers/Microsoft.Network/virtualNetworks/vnet1/subnets/default`;
    const [point] = await s.deps.repos.points.all(key);
    const req = { itemKey: key, pointId: point!.pointId, mode: 'newVm', targetResourceGroup: 'restored', newVm: { subnetId } } as const;
    await done((await requestRestore(s.deps, req)).jobId);
    // One that Azure refuses at the VM create: its cleanup deletes the VM (absent), the NIC and the disks.
    const refused = await requestRestore(s.deps, req);
    s.emulator.faults.inject({ plane: 'arm', method: 'PUT', path: new RegExp(`virtualMachines/app1-r${refused.jobId.slice(-8)}`), status: 409, code: 'SkuNotAvailable', times: 10 });
    await done(refused.jobId, 'Failed');
    s.emulator.faults.clear();
  });

  await as('mount', async () => {
    // The disks are restored into the helper VM's resource group, attached to it in one VM update, then detached
    // in another and deleted on unmount (azure-docs articles/virtual-machines/windows/attach-disk-ps.md,
    // detach-disk.md). The stack's drain must poll the mount queues (roles.test.ts passes their steps).
    const helper = s.emulator.createVm({ subscriptionId: SUB, resourceGroup: 'helpers', name: 'helper1', vmSize: 'Standard_D2s_v5', disks: [{ name: 'helper1-os', sizeBytes: 32 * MIB, lun: -1 }] });
    const [point] = await s.deps.repos.points.all(key);
    const mount = await requestMount(s.deps, { itemKey: key, pointId: point!.pointId, helperVmId: helper.id, durationMinutes: 30 });
    await s.drain();
    expect((await getMount(s.deps, mount.jobId)).state).toBe('Mounted');
    expect(s.emulator.state.vm(helper.id)!.dataDisks).toHaveLength(point!.disks.length);
    await requestUnmount(s.deps, mount.jobId);
    await s.drain();
    expect((await getMount(s.deps, mount.jobId)).state).toBe('Unmounted');
    expect(s.emulator.state.vm(helper.id)!.dataDisks).toHaveLength(0);
  });

  await as('entraDisks', async () => {
    // A disk with dataAccessAuthMode AzureActiveDirectory: its snapshot is read, and its disk restored from the
    // vault written, with the app identity's token beside the SAS (azure-compute-docs
    // articles/virtual-machines/disks-secure-upload-download.md).
    const aad = s.emulator.createVm({ subscriptionId: SUB, resourceGroup: 'rg', name: 'aad1', disks: [{ name: 'aad1-os', sizeBytes: 32 * MIB, lun: -1, dataAccessAuthMode: 'AzureActiveDirectory' }] });
    fill(s.emulator.store, EmulatorState.key(aad.osDiskId), MIB, 4 * MIB, 5);
    const aadKey = itemKeyFor(aad.id);
    for (const j of await requestRegistration(s.deps, [aad.id])) await done(j.jobId);
    for (const j of await requestProtection(s.deps, [aadKey], 'daily')) await done(j.jobId);
    await done((await backupNow(s.deps, aadKey)).jobId);
    const [point] = await s.deps.repos.points.all(aadKey);
    const restore = await requestRestore(s.deps, { itemKey: aadKey, pointId: point!.pointId, mode: 'newDisks', targetResourceGroup: 'restored', source: 'vault' });
    await done(restore.jobId);
    const restored = (await getJob(s.deps, restore.jobId)).result.disks as { diskId: string }[];
    expect(s.emulator.state.disk(restored[0]!.diskId)!.dataAccessAuthMode).toBe('AzureActiveDirectory');
  });
  return { seen, data, cancelledRestore };
}

export interface RestoreCanceller {
  policy: PipelinePolicy;
  arm(deps: Deps, jobId: string): void;
}

/**
 * A client policy that asks to cancel a restore job the moment the app requests write access to its first disk,
 * the way an operator's cancel lands while a restore runs: no timing involved.
 */
export function restoreCanceller(): RestoreCanceller {
  let armed: { deps: Deps; jobId: string } | undefined;
  return {
    arm: (deps, jobId) => {
      armed = { deps, jobId };
    },
    policy: {
      name: 'cancel-restore-on-disk-grant',
      async sendRequest(req, next) {
        if (armed && req.method === 'POST' && /\/disks\/[^/]+\/beginGetAccess$/i.test(new URL(req.url).pathname)) {
          const a = armed;
          armed = undefined;
          await requestCancel(a.deps, a.jobId);
        }
        return next(req);
      },
    },
  };
}

/**
 * The strict-limits policy of the test stack learns a page blob's size with a HEAD before it checks a Put Page's
 * range: a request of the test harness, not of the app, which Azure never sees. Sent without the disk token it
 * reads nothing of an Entra-only disk (403), so it names no data action; its checks stay as they are on every
 * other blob. Replaces the stack's default policy of the same name.
 */
export function strictLimitsWithoutDiskToken(): PipelinePolicy {
  const strict = strictAzureLimitsPolicy();
  return {
    name: strict.name,
    sendRequest: (req, next) =>
      strict.sendRequest(req, (probe) => {
        if (probe !== req && probe.method === 'HEAD') probe.headers.delete('authorization');
        return next(probe);
      }),
  };
}
