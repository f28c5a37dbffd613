import { createHash } from 'node:crypto';
import type { Job } from '../../domain/model';
import { DAY_MS } from '../../domain/time';
import { EntityExistsError, StaleEtagError } from '../../ports/tables';
import type { Deps } from '../../jobs/deps';
import { createJob, finishJob, getJob, isTerminal, newJobId, updateJob } from '../../jobs/jobs';
import { requestRegistration } from '../protection/protection';
import { itemKeyFor, TAGS } from '../../store/layout';

export const DISCOVERY_QUEUE = 'vmb-discovery';
const DISCOVERY_LEASE = 'discovery';

/** What a Discovery job found: its result, saved after each subscription so a redelivery resumes there. */
export interface DiscoveryResult {
  vms: number;
  autoRegistered: string[];
  skippedAutoProtect: { vmId: string; reason: string }[];
  /** Subscriptions listed to the end; a redelivery skips them. */
  subscriptionsDone: string[];
}

/**
 * Discovery runs as a job, not inside the HTTP call: Azure answers an HTTP trigger for at most 230 seconds
 * (MicrosoftDocs azure-docs includes/functions-timeout-duration.md), and listing large subscriptions can take
 * longer. One Discovery job at a time: a request while one is queued or running gets that job (`running`), so
 * the caller, the dashboard or the timer simply follows it; asking twice is not an error worth a 409.
 * The lease names the job; it is taken before the job is written, so a lease whose job never appeared, or
 * has ended, is free.
 */
export async function requestDiscovery(deps: Deps, trigger: Job['trigger'] = 'Api'): Promise<{ job: Job; running: boolean }> {
  for (let attempt = 0; ; attempt++) {
    const now = deps.clock();
    const cur = await deps.repos.leases.get(DISCOVERY_LEASE);
    const holder = cur && cur.doc.expiresAt > now ? (await deps.repos.jobs.get(cur.doc.holder))?.doc : undefined;
    if (holder && !isTerminal(holder)) return { job: holder, running: true };
    const jobId = newJobId(now);
    // A safety valve only: a job that stops is failed by the reconciler, which frees the lease long before this.
    const lease = { name: DISCOVERY_LEASE, holder: jobId, expiresAt: new Date(now.getTime() + DAY_MS) };
    try {
      if (cur) await deps.repos.leases.replace(lease, cur.etag);
      else await deps.repos.leases.insert(lease);
    } catch (err) {
      // Another request took the lease first: follow its job.
      if ((err instanceof EntityExistsError || err instanceof StaleEtagError) && attempt < 3) continue;
      throw err;
    }
    const { job } = await createJob(deps, { jobId, type: 'Discovery', trigger });
    await deps.queues.queue(DISCOVERY_QUEUE).send({ jobId });
    return { job, running: false };
  }
}

const emptyResult = (): DiscoveryResult => ({ vms: 0, autoRegistered: [], skippedAutoProtect: [], subscriptionsDone: [] });

function resultOf(job: Job): DiscoveryResult {
  return { ...emptyResult(), ...(job.result as Partial<DiscoveryResult>) };
}

/**
 * Lists the VMs of every configured subscription and remembers them for the VMs page. A VM tagged
 * vmbackup-policy=<name> and not yet registered is registered and protected with that policy. Idempotent on
 * redelivery: subscriptions already listed are skipped, the listing rows are upserts, and a tagged VM's Register
 * job has an id made from this job and the VM, so a second pass finds it instead of registering twice.
 */
export async function discoveryStep(deps: Deps, msg: { jobId: string }): Promise<void> {
  const job = await getJob(deps, msg.jobId);
  if (isTerminal(job)) return;
  await updateJob(deps, job.jobId, (j) => {
    j.status = 'InProgress';
    j.startedAt ??= deps.clock();
    j.segmentsTotal = deps.config.subscriptionIds.length;
  });
  const policies = new Set((await deps.repos.policies.all()).map((p) => p.name));
  for (const sub of deps.config.subscriptionIds) {
    if (resultOf(await getJob(deps, job.jobId)).subscriptionsDone.includes(sub)) continue;
    const found = await discoverSubscription(deps, job, sub, policies);
    await updateJob(deps, job.jobId, (j) => {
      const r = resultOf(j);
      if (r.subscriptionsDone.includes(sub)) return false;
      r.vms += found.vms;
      r.skippedAutoProtect.push(...found.skipped);
      r.subscriptionsDone.push(sub);
      j.result = { ...r };
      j.segmentsDone = r.subscriptionsDone.length;
    });
  }
  await finishJob(deps, job.jobId, 'Completed');
}

async function discoverSubscription(deps: Deps, job: Job, sub: string, policies: Set<string>): Promise<{ vms: number; skipped: DiscoveryResult['skippedAutoProtect'] }> {
  let vms = 0;
  const skipped: DiscoveryResult['skippedAutoProtect'] = [];
  for await (const vm of deps.compute.listVms(sub)) {
    vms++;
    const itemKey = itemKeyFor(vm.id);
    await deps.repos.discovered.upsert({ ...vm, itemKey, discoveredAt: deps.clock() });
    const tagged = vm.tags[TAGS.autoProtect];
    if (!tagged) continue;
    if (!policies.has(tagged)) {
      skipped.push({ vmId: vm.id, reason: `policy '${tagged}' does not exist` });
      continue;
    }
    const existing = (await deps.repos.items.get(itemKey))?.doc;
    if (existing && existing.state !== 'ProtectionStoppedDataDeleted') continue;
    await requestRegistration(deps, [vm.id], tagged, { jobIdFor: (id) => registerJobId(job, id), trigger: job.trigger });
    await updateJob(deps, job.jobId, (j) => {
      const r = resultOf(j);
      if (r.autoRegistered.includes(vm.id)) return false;
      j.result = { ...r, autoRegistered: [...r.autoRegistered, vm.id] };
    });
  }
  return { vms, skipped };
}

/** The same Register job on every pass of one Discovery job over one VM. */
function registerJobId(job: Job, vmId: string): string {
  return newJobId(job.createdAt, createHash('sha256').update(`${job.jobId}\n${vmId.toLowerCase()}`).digest('hex').slice(0, 12));
}
