import { isTransientDependencyError, PermanentStepError, replaceRefused, VmBackupError } from '../../errors';
import type { Job } from '../../domain/model';
import type { DataDiskAttachment, VmInfo } from '../../ports/compute';
import type { Deps } from '../../jobs/deps';
import { getJob, updateJob } from '../../jobs/jobs';
import type { RestoredDisk } from './plan';
import { checkReplace, restoredFacts, type ReplacePair } from './replace-checks';
import { takeUndoSnapshots, type UndoRecord } from './replace-undo';

export type ReplaceSubStep = 'deallocated' | 'osSwapped' | 'dataDetached' | 'dataAttached' | 'started';

/**
 * The checkpoint of a replace, kept on the job's result (`result.replace`). Written once before the VM is
 * touched, so a redelivery never measures the power state again on a VM this job deallocated (AZURE-FIDELITY
 * B2: the old retry saved `wasRunning: false` over `true`).
 */
export interface ReplaceRecord {
  /** The VM's power state before this job touched it: saved on the first execution only. */
  wasRunning: boolean;
  original: { os: { diskId: string; name: string }; data: DataDiskAttachment[] };
  target: { os: { diskId: string; name: string }; data: DataDiskAttachment[] };
  /** LUNs whose current disk makes room for a restored one. */
  luns: number[];
  undo?: UndoRecord;
  /** From the first VM update of an attempt until it ended: a delivery that finds it set follows a crash. */
  inFlight: boolean;
  done: ReplaceSubStep[];
  attempts: number;
  /** Each attempt that did not end swapped, and what put the VM back. */
  history: { attempt: number; failure: string; rolledBack: boolean }[];
}

export function replaceOf(job: Job): ReplaceRecord | undefined {
  return job.result.replace as ReplaceRecord | undefined;
}

const same = (a: string, b: string): boolean => a.toLowerCase() === b.toLowerCase();

async function saveReplace(deps: Deps, jobId: string, change: (r: ReplaceRecord) => void): Promise<ReplaceRecord> {
  const job = await updateJob(deps, jobId, (j) => {
    const r = replaceOf(j);
    if (!r) return false;
    change(r);
  });
  return replaceOf(job)!;
}

async function requireVm(deps: Deps, vmId: string): Promise<VmInfo> {
  const vm = vmId ? await deps.compute.getVm(vmId) : undefined;
  if (!vm) throw replaceRefused('ReplaceVmNotFound', 'The VM to replace disks on no longer exists.', 'Restore with mode newDisks and create a VM from the restored disks.', false);
  return vm;
}

async function restoredPairs(deps: Deps, vm: VmInfo, restored: RestoredDisk[]): Promise<ReplacePair[]> {
  const pairs: ReplacePair[] = [];
  for (const r of restored) {
    const info = await deps.compute.getDisk(r.diskId);
    if (!info) throw new PermanentStepError('RestoredDiskMissing', `The restored disk '${r.diskId.split('/').pop()}' was deleted before it could be swapped in.`, 'Run the restore again.');
    pairs.push({ lun: r.lun, current: vm.disks.find((d) => d.lun === r.lun), next: restoredFacts(info) });
  }
  return pairs;
}

/** The record of a first execution: what is on the VM now, what goes where, the power state. */
function planRecord(vm: VmInfo, pairs: ReplacePair[]): ReplaceRecord {
  const os = pairs.find((p) => p.lun < 0)!;
  const data = pairs.filter((p) => p.lun >= 0);
  const attachmentOf = (lun: number, diskId: string): DataDiskAttachment => {
    const cur = vm.disks.find((d) => d.lun === lun);
    return { lun, diskId, caching: cur?.profile?.caching, writeAcceleratorEnabled: cur?.profile?.writeAcceleratorEnabled, deleteOption: cur?.deleteOption };
  };
  return {
    wasRunning: vm.powerState === 'running',
    original: { os: { diskId: os.current!.diskId, name: os.current!.name }, data: data.filter((p) => p.current).map((p) => attachmentOf(p.lun, p.current!.diskId)) },
    target: { os: { diskId: os.next.diskId!, name: os.next.name }, data: data.map((p) => attachmentOf(p.lun, p.next.diskId!)) },
    luns: data.filter((p) => p.current).map((p) => p.lun),
    inFlight: false,
    done: [],
    attempts: 0,
    history: [],
  };
}

/** Is the VM on exactly the disks the record says it had (after a rollback, or before the first attempt)? */
function onOriginals(vm: VmInfo, rec: ReplaceRecord): boolean {
  const os = vm.disks.find((d) => d.lun < 0);
  return (
    !!os &&
    same(os.diskId, rec.original.os.diskId) &&
    rec.original.data.every((o) => vm.disks.some((d) => d.lun === o.lun && same(d.diskId, o.diskId))) &&
    rec.luns.every((l) => rec.original.data.some((o) => o.lun === l))
  );
}

/**
 * Swaps the restored disks into the VM, all checks first. A first execution records the VM's disks and power
 * state once; every later delivery reads them from the record. An attempt stopped midway (a crash: the record
 * still says in flight) is rolled back before anything else, so each attempt starts from the original disks.
 */
export async function replaceVmDisks(deps: Deps, job: Job, vmId: string, restored: RestoredDisk[]): Promise<void> {
  if (job.result.swapped) return;
  let rec = replaceOf(job);
  if (rec?.inFlight) rec = await rollBackReplace(deps, job.jobId, vmId, 'interrupted (the previous delivery stopped midway)');
  const vm = await requireVm(deps, vmId);
  const pairs = await restoredPairs(deps, vm, restored);
  if (rec && !onOriginals(vm, rec)) {
    throw replaceRefused('ReplaceVmChanged', `The disks of VM '${vm.name}' changed since this restore recorded them.`, "Look at the VM's disks, then restore again.", false);
  }
  checkReplace(vm, pairs, false);
  if (!rec) {
    const first = planRecord(vm, pairs);
    const saved = await updateJob(deps, job.jobId, (j) => {
      if (replaceOf(j)) return false; // recorded by an earlier delivery: never measured again
      j.phase = 'ReplaceDisks';
      j.result = { ...j.result, replace: first };
    });
    rec = replaceOf(saved)!;
  }
  if (!rec.undo) {
    const undo = await takeUndoSnapshots(deps, await getJob(deps, job.jobId), vm, rec.original);
    rec = await saveReplace(deps, job.jobId, (r) => {
      r.undo = undo;
    });
    await updateJob(deps, job.jobId, (j) => {
      j.result = { ...j.result, undo };
    });
  }
  await runSwap(deps, job.jobId, vmId, rec);
}

async function runSwap(deps: Deps, jobId: string, vmId: string, start: ReplaceRecord): Promise<void> {
  let rec = await saveReplace(deps, jobId, (r) => {
    r.inFlight = true;
    r.attempts++;
    r.done = [];
  });
  const step = async (name: ReplaceSubStep, run: () => Promise<void>): Promise<void> => {
    await run();
    rec = await saveReplace(deps, jobId, (r) => {
      r.done.push(name);
    });
  };
  try {
    if (start.wasRunning) await step('deallocated', () => deps.compute.deallocateVm(vmId));
    await step('osSwapped', () => deps.compute.swapOsDisk(vmId, rec.target.os));
    if (rec.luns.length) await step('dataDetached', () => deps.compute.detachDataDisks(vmId, rec.luns));
    if (rec.target.data.length) await step('dataAttached', () => deps.compute.attachDataDisks(vmId, rec.target.data));
    if (rec.wasRunning) await step('started', () => deps.compute.startVm(vmId));
  } catch (err) {
    throw await afterFailedAttempt(deps, jobId, vmId, err);
  }
  await updateJob(deps, jobId, (j) => {
    const r = replaceOf(j)!;
    r.inFlight = false;
    j.result = { ...j.result, swapped: true };
  });
}

/** What an ARM answer means for the job: a 4xx is Azure's refusal (retrying cannot help), the rest may pass. */
async function afterFailedAttempt(deps: Deps, jobId: string, vmId: string, err: unknown): Promise<unknown> {
  const e = err as { statusCode?: number; code?: string; message?: string };
  const what = `${e.code ?? 'Error'}${e.statusCode ? ` (${e.statusCode})` : ''}`;
  let rolledBack = true;
  try {
    await rollBackReplace(deps, jobId, vmId, what);
  } catch (rb) {
    rolledBack = false; // the record stays in flight: the next delivery, the job's cleanup or the reconciler's sweep rolls back
    deps.log.warn('replace rollback failed; it is retried', { jobId, error: (rb as { code?: string }).code ?? 'Error' });
  }
  if (err instanceof VmBackupError || isTransientDependencyError(err) || !e.statusCode) return err;
  return new PermanentStepError(
    'ReplaceDisksRejected',
    `Azure refused a VM update of the disk replace: ${what} ${e.message ?? ''}`.trim() + (rolledBack ? ' The VM was put back on its original disks.' : ''),
    rolledBack
      ? 'The VM runs on its original disks (started again if it was running). Correct what Azure names, or restore with mode newDisks.'
      : 'The rollback to the original disks is retried automatically; check the VM, then restore again.',
  );
}

/**
 * Puts the VM back on the disks the record says it had and starts it if it was running. Idempotent by the VM's
 * actual state (each update is made only if still needed), so it can run again after a crash of its own.
 */
export async function rollBackReplace(deps: Deps, jobId: string, vmId: string, failure: string): Promise<ReplaceRecord> {
  const rec = replaceOf(await getJob(deps, jobId))!;
  let vm = await requireVm(deps, vmId);
  const os = vm.disks.find((d) => d.lun < 0);
  if (os && !same(os.diskId, rec.original.os.diskId)) {
    if (vm.powerState === 'running') await deps.compute.deallocateVm(vmId);
    await deps.compute.swapOsDisk(vmId, rec.original.os);
  }
  const wrong = rec.luns.filter((l) => {
    const d = vm.disks.find((x) => x.lun === l);
    return d && !rec.original.data.some((o) => o.lun === l && same(o.diskId, d.diskId));
  });
  const restoredLuns = rec.target.data.map((t) => t.lun).filter((l) => !rec.luns.includes(l) && vm.disks.some((d) => d.lun === l));
  if (wrong.length || restoredLuns.length) await deps.compute.detachDataDisks(vmId, [...wrong, ...restoredLuns]);
  vm = await requireVm(deps, vmId);
  const missing = rec.original.data.filter((o) => !vm.disks.some((d) => d.lun === o.lun));
  if (missing.length) await deps.compute.attachDataDisks(vmId, missing);
  if (rec.wasRunning && vm.powerState !== 'running') await deps.compute.startVm(vmId);
  return saveReplace(deps, jobId, (r) => {
    r.history.push({ attempt: r.attempts, failure, rolledBack: true });
    r.inFlight = false;
    r.done = [];
  });
}
