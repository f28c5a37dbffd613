import { randomUUID } from 'node:crypto';
import { ConflictError } from '../../errors';
import { EntityExistsError, StaleEtagError } from '../../ports/tables';
import type { Deps } from '../../jobs/deps';
import { requestRegistration } from './protection';
import { itemKeyFor, TAGS } from '../../store/layout';


export interface DiscoveryResult {
  vms: number;
  autoRegistered: string[];
  skippedAutoProtect: { vmId: string; reason: string }[];
}

const LOCK_TTL_MS = 10 * 60_000;
const DISCOVERY_LEASE = 'discovery';

/**
 * Lists the VMs of every configured subscription and remembers them for the VMs page. A VM tagged
 * vmbackup-policy=<name> and not yet registered is registered and protected with that policy.
 * One discovery at a time: a second one gets 409 DiscoveryInProgress.
 */
export async function runDiscovery(deps: Deps): Promise<DiscoveryResult> {
  const holder = randomUUID();
  await takeDiscoveryLease(deps, holder);
  try {
    return await discover(deps);
  } finally {
    await deps.repos.leases.update(DISCOVERY_LEASE, (l) => (l.holder === holder ? void (l.expiresAt = new Date(0)) : false));
  }
}

const inProgress = (): ConflictError =>
  new ConflictError('DiscoveryInProgress', 'A discovery operation is already in progress.', 'Wait for the current discovery to complete, then try again.');

async function takeDiscoveryLease(deps: Deps, holder: string): Promise<void> {
  const now = deps.clock();
  const lease = { name: DISCOVERY_LEASE, holder, expiresAt: new Date(now.getTime() + LOCK_TTL_MS) };
  const cur = await deps.repos.leases.get(DISCOVERY_LEASE);
  if (cur && cur.doc.expiresAt.getTime() > now.getTime()) throw inProgress();
  try {
    if (cur) await deps.repos.leases.replace(lease, cur.etag);
    else await deps.repos.leases.insert(lease);
  } catch (err) {
    if (err instanceof EntityExistsError || err instanceof StaleEtagError) throw inProgress();
    throw err;
  }
}

async function discover(deps: Deps): Promise<DiscoveryResult> {
  const result: DiscoveryResult = { vms: 0, autoRegistered: [], skippedAutoProtect: [] };
  const policies = new Set((await deps.repos.policies.all()).map((p) => p.name));
  for (const sub of deps.config.subscriptionIds) {
    for await (const vm of deps.compute.listVms(sub)) {
      result.vms++;
      const itemKey = itemKeyFor(vm.id);
      await deps.repos.discovered.upsert({ ...vm, itemKey, discoveredAt: deps.clock() });
      const tagged = vm.tags[TAGS.autoProtect];
      if (!tagged) continue;
      if (!policies.has(tagged)) {
        result.skippedAutoProtect.push({ vmId: vm.id, reason: `policy '${tagged}' does not exist` });
        continue;
      }
      const existing = (await deps.repos.items.get(itemKey))?.doc;
      if (existing && existing.state !== 'ProtectionStoppedDataDeleted') continue;
      await requestRegistration(deps, [vm.id], tagged);
      result.autoRegistered.push(vm.id);
    }
  }
  return result;
}
