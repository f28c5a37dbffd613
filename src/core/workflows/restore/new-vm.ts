import { isTransientDependencyError, PermanentStepError } from '../../errors';
import type { Job, ProtectedItem, RecoveryPoint } from '../../domain/model';
import type { NewVmSpec, ProvisioningPort } from '../../ports/provisioning';
import type { Deps } from '../../jobs/deps';
import { updateJob } from '../../jobs/jobs';
import { TAGS } from '../../store/layout';
import type { NewVmPlan } from './new-vm-checks';
import { getPoint, restoreScope, targetsOf, type RestoredDisk } from './plan';
import { paramsOf } from '../../jobs/params';
import { restoreParams } from './params';

/** The NIC and VM a new-VM restore creates, recorded on the job (result.newVm) before either is created. */
export interface NewVmRecord {
  nicId: string;
  vmId: string;
  /** Filled once the VM exists. */
  powerState?: string;
}

export const newVmOf = (job: Job): NewVmRecord | undefined => job.result.newVm as NewVmRecord | undefined;
export const newVmPlanOf = (job: Job): NewVmPlan | undefined => paramsOf(job, restoreParams).newVm;

/** Deterministic names from the job id, so a redelivery finds what an earlier delivery created. */
export function newVmNames(job: Job, vmName: string): { vm: string; nic: string } {
  const vm = `${vmName.slice(0, 50)}-r${job.jobId.slice(-8)}`;
  return { vm, nic: `${vm}-nic` };
}

const refused = (what: string, err: unknown): PermanentStepError => {
  const e = err as { code?: string; message?: string };
  return new PermanentStepError(
    'NewVmCreateFailed',
    `Azure refused to create the ${what} of the new VM (${e.code ?? 'error'}: ${e.message ?? String(err)}).`,
    'Fix what Azure named (quota, size, subnet), then run the restore again; what this job created was deleted.',
  );
};

/** A refusal (4xx) ends the job: retrying the same request cannot succeed. Throttling and 5xx are retried. */
async function orRefused<T>(what: string, p: Promise<T>): Promise<T> {
  try {
    return await p;
  } catch (err) {
    const status = (err as { statusCode?: number }).statusCode;
    if (isTransientDependencyError(err) || status === undefined || status === 404) throw err;
    throw refused(what, err);
  }
}

/**
 * The phase after the disks exist (finish step): a NIC in the caller's subnet, then the VM on the restored disks
 * (OS disk createOption Attach, data disks at their original LUNs with the point's caching, write accelerator
 * and delete options). GET before PUT on each, so a redelivery converges on the same two resources.
 */
export async function createNewVm(deps: Deps, job: Job, item: ProtectedItem, restored: RestoredDisk[]): Promise<NewVmRecord> {
  const net = deps.provisioning;
  const plan = newVmPlanOf(job);
  if (!net || !plan) throw new PermanentStepError('NewVmUnsupported', 'The job names no new VM, or this deployment cannot create one.', 'Restore with mode newDisks.');
  const scope = restoreScope(job, item);
  const rg = paramsOf(job, restoreParams).targetResourceGroup;
  const names = newVmNames(job, item.vmName);
  const base = `/subscriptions/${scope.subscriptionId}/resourceGroups/${rg}/providers`;
  const planned: NewVmRecord = { nicId: `${base}/Microsoft.Network/networkInterfaces/${names.nic}`, vmId: `${base}/Microsoft.Compute/virtualMachines/${names.vm}` };
  job = await updateJob(deps, job.jobId, (j) => {
    j.phase = 'CreateVm';
    if (!newVmOf(j)) j.result = { ...j.result, newVm: planned };
  });
  const rec = newVmOf(job)!;
  const tags = { [TAGS.restoreJob]: job.jobId };
  const nic = (await net.getNic(rec.nicId)) ?? (await orRefused('network interface', net.createNic({ ...scope, resourceGroup: rg, name: names.nic, subnetId: plan.subnetId, tags })));
  if (!(await deps.compute.getVm(rec.vmId))) {
    const point = await getPoint(deps, item.itemKey, paramsOf(job, restoreParams).pointId);
    const spec = await vmSpec(deps, point, item, restored, { ...scope, resourceGroup: rg, name: names.vm, vmSize: plan.vmSize, zone: plan.zone, nicId: nic.id, tags });
    await orRefused('virtual machine', net.createVm(spec));
  }
  const vm = await deps.compute.getVm(rec.vmId);
  const done: NewVmRecord = { ...rec, powerState: vm?.powerState };
  await updateJob(deps, job.jobId, (j) => {
    j.result = { ...j.result, newVm: done };
  });
  return done;
}

type Base = Pick<NewVmSpec, 'subscriptionId' | 'resourceGroup' | 'name' | 'location' | 'vmSize' | 'zone' | 'nicId' | 'tags'>;

async function vmSpec(deps: Deps, point: RecoveryPoint, item: ProtectedItem, restored: RestoredDisk[], base: Base): Promise<NewVmSpec> {
  const os = restored.find((r) => r.lun < 0);
  if (!os) throw new PermanentStepError('NewVmNoOsDisk', 'The restore produced no OS disk, so no VM can be created.', 'Restore a point that includes the OS disk.');
  const profile = (lun: number) => point.disks.find((d) => d.lun === lun)?.profile;
  const osProfile = profile(-1);
  // The VM's security type follows its OS disk: a vault copy carries no guest state, so it boots as Standard.
  const osDisk = await deps.compute.getDisk(os.diskId);
  return {
    ...base,
    osType: osProfile?.osType ?? item.osType,
    os: { diskId: os.diskId, caching: osProfile?.caching, writeAcceleratorEnabled: osProfile?.writeAcceleratorEnabled, deleteOption: osProfile?.deleteOption },
    dataDisks: restored
      .filter((r) => r.lun >= 0)
      .sort((a, b) => a.lun - b.lun)
      .map((r) => {
        const p = profile(r.lun);
        return { lun: r.lun, diskId: r.diskId, caching: p?.caching, writeAcceleratorEnabled: p?.writeAcceleratorEnabled, deleteOption: p?.deleteOption };
      }),
    ...(osDisk?.securityType === 'TrustedLaunch' ? { securityType: 'TrustedLaunch' } : {}),
  };
}

/**
 * Cleanup of a new-VM restore that failed or was cancelled: the VM, then its NIC (Azure refuses to delete a NIC
 * still attached: 400 NicInUse), then every disk of the job, sealed ones too: without their VM they are what the
 * job left behind. Each delete of something absent is a no-op, so the sweep can run it again.
 */
export async function deleteNewVm(deps: Deps, job: Job): Promise<void> {
  const rec = newVmOf(job);
  const net: ProvisioningPort | undefined = deps.provisioning;
  if (rec && net) {
    await net.deleteVm(rec.vmId);
    await net.deleteNic(rec.nicId);
  }
  for (const t of targetsOf(job) ?? []) await deps.compute.deleteDisk(t.diskId);
}
