import { QUEUES } from '../../config';
import { busy, ConflictError, itemNotFound, PermanentStepError, policyNotFound, ValidationError } from '../../errors';
import type { Job, ProtectedItem } from '../../domain/model';
import { parseResourceId } from '../../ports/compute';
import type { Deps } from '../../jobs/deps';
import { EntityExistsError } from '../../ports/tables';
import { reapplyRetention } from '../backup/expiry';
import { createJobOnce } from '../../jobs/idempotency';
import { createJob, finishJob, getJob, isTerminal, updateJob } from '../../jobs/jobs';
import { newParams, paramsOf } from '../../jobs/params';
import { protectParams, registerParams } from './params';
import { backupParams } from '../backup/params';
import { acquireItemLock, isItemBusy, releaseItemLock } from '../../jobs/lock';
import type { SnapshotMessage } from '../backup/plan';
import { diskKeyFor, itemKeyFor } from '../../store/layout';
import { DAY_MS } from '../../domain/time';
import { DEFAULT_RETENTION_DAYS } from '../../domain/retention';

import { eligibilityProblem } from './eligibility';

export { eligibilityProblem };

export interface JobMessage {
  jobId: string;
}

function vmNotFound(vmId: string): PermanentStepError {
  return new PermanentStepError(
    'VmNotFound',
    `The virtual machine '${vmId}' was not found.`,
    'Check that the VM exists and that the function app identity has Reader access to it, then run discovery again.',
  );
}

/**
 * Bulk registration: one Register job per VM, each checked on its own so one bad VM fails only its job. A caller
 * that names the job ids (discovery, so a redelivered pass registers a VM once) gets no second message for a job
 * that exists already: its first was sent, or the reconciler re-drives it.
 */
export async function requestRegistration(deps: Deps, vmIds: string[], policyName?: string, o: { jobIdFor?: (vmId: string) => string; trigger?: Job['trigger'] } = {}): Promise<Job[]> {
  const jobs: Job[] = [];
  for (const vmId of vmIds) {
    try {
      parseResourceId(vmId);
    } catch {
      throw new ValidationError(`'${vmId}' is not a virtual machine resource id.`, 'Use ids of the form /subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.Compute/virtualMachines/{name}.');
    }
  }
  if (policyName) await requirePolicy(deps, policyName);
  for (const vmId of vmIds) {
    const { job, created } = await createJob(deps, {
      jobId: o.jobIdFor?.(vmId),
      type: 'Register',
      itemKey: itemKeyFor(vmId),
      trigger: o.trigger ?? 'Api',
      params: newParams(registerParams, { vmId, policyName }),
    });
    if (created) await deps.queues.queue(QUEUES.register).send({ jobId: job.jobId } satisfies JobMessage);
    jobs.push(job);
  }
  return jobs;
}

export async function requirePolicy(deps: Deps, name: string): Promise<void> {
  await deps.repos.policies.require(name, () => policyNotFound(name));
}

export async function registerStep(deps: Deps, msg: JobMessage): Promise<void> {
  const job = await getJob(deps, msg.jobId);
  if (isTerminal(job)) return;
  await updateJob(deps, job.jobId, (j) => {
    j.status = 'InProgress';
    j.startedAt ??= deps.clock();
  });
  const { vmId, policyName } = paramsOf(job, registerParams);
  const itemKey = itemKeyFor(vmId);
  const existing = (await deps.repos.items.get(itemKey))?.doc;
  // A duplicate delivery of this very job (at-least-once queues) finds its own item: done, not a conflict.
  if (existing?.registeredBy === job.jobId) {
    await finishJob(deps, job.jobId, 'Completed');
    return;
  }
  if (existing && existing.state !== 'ProtectionStoppedDataDeleted') throw alreadyRegistered(existing.vmName);
  const vm = await deps.compute.getVm(vmId);
  if (!vm) throw vmNotFound(vmId);
  const problem = eligibilityProblem(vm, { entraDataAccess: deps.dataPlane.entraDataAccess });
  if (problem) throw problem;
  if (policyName) {
    const policy = (await deps.repos.policies.get(policyName))?.doc;
    if (policy && policy.consistency.mode !== 'CrashConsistent' && (vm.powerState !== 'running' || !vm.guestAgentReady)) {
      throw new PermanentStepError(
        'GuestAgentNotReady',
        `VM '${vm.name}' is ${vm.powerState} or its guest agent is not ready, and policy '${policyName}' runs scripts in the guest.`,
        'Start the VM and make sure the VM agent is running, or pick a crash-consistent policy.',
      );
    }
  }
  const item: ProtectedItem = {
    itemKey,
    vmId: vm.id,
    vmName: vm.name,
    resourceGroup: vm.resourceGroup,
    subscriptionId: vm.subscriptionId,
    location: vm.location,
    osType: vm.osType,
    state: policyName ? 'ProtectionPending' : 'Registered',
    policyName,
    disks: vm.disks.map((d) => ({ diskKey: diskKeyFor(d.lun), diskId: d.diskId, name: d.name, lun: d.lun, sizeBytes: d.sizeBytes, sku: d.sku })),
    createdAt: deps.clock(),
    protectedAt: policyName ? deps.clock() : undefined,
    registeredBy: job.jobId,
  };
  if (existing) await deps.repos.items.upsert(item);
  else await insertOwnItem(deps, item, job.jobId);
  await finishJob(deps, job.jobId, 'Completed');
}

const alreadyRegistered = (vmName: string): PermanentStepError =>
  new PermanentStepError('AlreadyRegistered', `VM '${vmName}' is already registered.`, 'No action needed. To change its policy, configure protection again.');

/** Two deliveries of one Register job racing: the one whose insert loses finds the other's item, which is its own. */
async function insertOwnItem(deps: Deps, item: ProtectedItem, jobId: string): Promise<void> {
  try {
    await deps.repos.items.insert(item);
  } catch (err) {
    if (!(err instanceof EntityExistsError)) throw err;
    const winner = (await deps.repos.items.get(item.itemKey))?.doc;
    if (winner?.registeredBy !== jobId) throw alreadyRegistered(item.vmName);
  }
}

/** Protect (bulk): each item gets the policy through a ConfigureProtection job. */
export async function requestProtection(deps: Deps, itemKeys: string[], policyName: string): Promise<Job[]> {
  await requirePolicy(deps, policyName);
  const jobs: Job[] = [];
  for (const itemKey of itemKeys) {
    if (!(await deps.repos.items.get(itemKey))) throw itemNotFound(itemKey);
  }
  for (const itemKey of itemKeys) {
    const { job } = await createJob(deps, { type: 'ConfigureProtection', itemKey, trigger: 'Api', params: newParams(protectParams, { policyName }) });
    await deps.queues.queue(QUEUES.protect).send({ jobId: job.jobId } satisfies JobMessage);
    jobs.push(job);
  }
  return jobs;
}

export async function protectStep(deps: Deps, msg: JobMessage): Promise<void> {
  const job = await getJob(deps, msg.jobId);
  if (isTerminal(job) || !job.itemKey) return;
  const { policyName } = paramsOf(job, protectParams);
  const item = await deps.repos.items.update(job.itemKey, (i) => {
    if (i.policyName !== policyName || !i.protectedAt) i.protectedAt = deps.clock();
    i.policyName = policyName;
    i.state = i.lastRecoveryPointId ? 'Protected' : 'ProtectionPending';
  });
  if (!item) throw new PermanentStepError('ProtectedItemNotFound', `Item '${job.itemKey}' is not registered.`, 'Register the VM first.');
  const policy = (await deps.repos.policies.get(policyName))?.doc;
  if (policy) await reapplyRetention(deps, job.itemKey, policy);
  await finishJob(deps, job.jobId, 'Completed');
}

export async function backupNow(deps: Deps, itemKey: string, retainUntil?: Date, idempotencyKey?: string): Promise<Job> {
  const item = (await deps.repos.items.get(itemKey))?.doc;
  if (!item) throw itemNotFound(itemKey);
  if (item.state === 'ProtectionStoppedDataDeleted') {
    throw new ConflictError('ProtectionStopped', `Protection of '${item.vmName}' was stopped and its data deleted.`, 'Register and protect the VM again.');
  }
  if (retainUntil && retainUntil <= deps.clock()) throw new ValidationError('retainUntil must be in the future.', 'Send a date after now, e.g. 30 days from today.');
  const { job } = await createJobOnce(
    deps,
    idempotencyKey,
    JSON.stringify(['backup', itemKey, retainUntil?.toISOString() ?? null]),
    {
      type: 'Backup',
      itemKey,
      trigger: 'OnDemand',
      params: newParams(backupParams, { retainUntil: (retainUntil ?? new Date(deps.clock().getTime() + DEFAULT_RETENTION_DAYS * DAY_MS)).toISOString() }),
    },
    // Admission takes the item lock for the new job: of two calls at once only one gets the item, the other
    // answers 409 AnotherOperationInProgress, and the job's first step finds the lock already its own.
    (jobId) => acquireItemLock(deps, itemKey, jobId),
    (j) => deps.queues.queue(QUEUES.snapshot).send({ jobId: j.jobId } satisfies SnapshotMessage),
    (jobId) => releaseItemLock(deps, itemKey, jobId),
  );
  return job;
}

/** Stop protection: the schedule stops; with deleteData the recovery points go to soft delete. */
export async function stopProtection(deps: Deps, itemKey: string, deleteData: boolean): Promise<ProtectedItem> {
  if (await isItemBusy(deps, itemKey)) throw busy(itemKey);
  const item = await deps.repos.items.update(itemKey, (i) => {
    i.policyName = undefined;
    i.state = deleteData ? 'ProtectionStoppedDataDeleted' : 'ProtectionStopped';
  });
  if (!item) throw itemNotFound(itemKey);
  if (deleteData) {
    const now = deps.clock();
    for (const p of await deps.repos.points.all(itemKey)) {
      await deps.repos.points.update(itemKey, p.pointId, (x) => {
        if (x.state === 'SoftDeleted') return false;
        x.state = 'SoftDeleted';
        x.deletedAt = now;
      });
    }
  }
  return item;
}
