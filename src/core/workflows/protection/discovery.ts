import { ConflictError } from '../../errors';
import type { VmInfo } from '../../ports/compute';
import { EntityExistsError } from '../../ports/tables';
import type { Deps } from '../../jobs/deps';
import { itemKeyFor, requestRegistration } from './protection';

export const AUTO_PROTECT_TAG = 'vmbackup-policy';

export interface DiscoveredVm extends VmInfo {
  itemKey: string;
  discoveredAt: Date;
}

export interface DiscoveryResult {
  vms: number;
  autoRegistered: string[];
  skippedAutoProtect: { vmId: string; reason: string }[];
}

const LOCK_TTL_MS = 10 * 60_000;

/**
 * Lists the VMs of every configured subscription and remembers them for the VMs page. A VM tagged
 * vmbackup-policy=<name> and not yet registered is registered and protected with that policy.
 * One discovery at a time: a second one gets 409, as the seeds' workflow says.
 */
export async function runDiscovery(deps: Deps): Promise<DiscoveryResult> {
  const lock = deps.repos.segments; // a single row in the segments table serves as the discovery lease
  const now = deps.clock();
  const leaseKey = { jobId: 'discovery', segmentKey: 'lease' };
  const cur = await lock.get(leaseKey.jobId, leaseKey.segmentKey);
  if (cur && cur.doc.state === 'Pending' && now.getTime() - cur.doc.nextCell < LOCK_TTL_MS) {
    throw new ConflictError('DiscoveryInProgress', 'A discovery operation is already in progress.', 'Wait for the current discovery to complete, then try again.');
  }
  const row = { ...leaseKey, state: 'Pending' as const, nextCell: now.getTime(), stats: {} };
  try {
    if (cur) await lock.replace(row, cur.etag);
    else await lock.insert(row);
  } catch (err) {
    if (err instanceof EntityExistsError || (err as Error).name === 'StaleEtagError') {
      throw new ConflictError('DiscoveryInProgress', 'A discovery operation is already in progress.', 'Wait for the current discovery to complete, then try again.');
    }
    throw err;
  }
  try {
    return await discover(deps);
  } finally {
    await lock.upsert({ ...leaseKey, state: 'Done', nextCell: 0, stats: {} });
  }
}

async function discover(deps: Deps): Promise<DiscoveryResult> {
  const result: DiscoveryResult = { vms: 0, autoRegistered: [], skippedAutoProtect: [] };
  const policies = new Set((await deps.repos.policies.all('policy')).map((p) => p.name));
  for (const sub of deps.config.subscriptionIds) {
    for await (const vm of deps.compute.listVms(sub)) {
      result.vms++;
      const itemKey = itemKeyFor(vm.id);
      await deps.repos.discovered.upsert({ ...vm, itemKey, discoveredAt: deps.clock() });
      const tagged = vm.tags[AUTO_PROTECT_TAG];
      if (!tagged) continue;
      if (!policies.has(tagged)) {
        result.skippedAutoProtect.push({ vmId: vm.id, reason: `policy '${tagged}' does not exist` });
        continue;
      }
      const existing = (await deps.repos.items.get('item', itemKey))?.doc;
      if (existing && existing.state !== 'ProtectionStoppedDataDeleted') continue;
      await requestRegistration(deps, [vm.id], tagged);
      result.autoRegistered.push(vm.id);
    }
  }
  return result;
}
