import type { Consistency, Job, ProtectedItem } from '../../domain/model';
import type { VmInfo } from '../../ports/compute';
import { redact } from '../../redact';
import type { Deps } from '../../jobs/deps';
import { diskKeyFor, snapshotNameFor, sourceSnapshotTags } from '../../store/layout';

export interface ConsistencySettings {
  mode: Consistency;
  preScript?: { linux?: string; windows?: string };
  postScript?: { linux?: string; windows?: string };
  scriptTimeoutSeconds?: number;
}

export const DEFAULT_SCRIPTS = {
  pre: {
    linux: 'set -e; sync; for m in $(findmnt -rn -t ext4,xfs,btrfs -o TARGET | grep -v "^/$"); do fsfreeze -f "$m"; done',
    windows: 'vssadmin list writers | Out-Null; Write-Output "VSS writers ready"',
  },
  post: {
    linux: 'for m in $(findmnt -rn -t ext4,xfs,btrfs -o TARGET | grep -v "^/$"); do fsfreeze -u "$m" || true; done',
    windows: 'Write-Output "VSS snapshot released"',
  },
};

/**
 * Quiesces the guest when the policy asks for it, snapshots every disk as close together as possible, and
 * always thaws, even when a snapshot fails. Whatever is not reached is recorded: the backup still runs,
 * crash-consistent, with a warning, because a slightly worse recovery point beats none.
 */
export async function freezeAndSnapshot(
  deps: Deps,
  job: Job,
  item: ProtectedItem,
  vm: VmInfo,
  settings: ConsistencySettings | undefined,
): Promise<{ snapshots: Map<string, string>; consistency: Consistency; warnings: string[] }> {
  const warnings: string[] = [];
  const wanted: Consistency = settings?.mode ?? 'CrashConsistent';
  const frozen = wanted !== 'CrashConsistent' && (await freeze(deps, vm, settings, warnings));
  try {
    return { snapshots: await snapshotDisks(deps, job, item, vm), consistency: frozen ? wanted : 'CrashConsistent', warnings };
  } finally {
    if (frozen) await thaw(deps, vm, settings, warnings);
  }
}

const osOf = (vm: VmInfo): 'windows' | 'linux' => (vm.osType === 'Windows' ? 'windows' : 'linux');
const timeoutOf = (settings: ConsistencySettings | undefined): number => settings?.scriptTimeoutSeconds ?? 60;

/** True when the pre-script ran and reported success; otherwise why not is in the warnings. */
async function freeze(deps: Deps, vm: VmInfo, settings: ConsistencySettings | undefined, warnings: string[]): Promise<boolean> {
  if (vm.powerState !== 'running') {
    warnings.push(`The VM is ${vm.powerState}, so no pre-script ran: this recovery point is crash-consistent.`);
    return false;
  }
  if (!vm.guestAgentReady) {
    warnings.push('The VM guest agent is not ready, so no pre-script ran: this recovery point is crash-consistent. Check the VM agent.');
    return false;
  }
  const script = settings?.preScript?.[osOf(vm)] ?? DEFAULT_SCRIPTS.pre[osOf(vm)];
  try {
    const r = await deps.compute.runCommand(vm.id, vm.osType, script, timeoutOf(settings));
    if (r.succeeded) return true;
    warnings.push(`The pre-script failed (${redact(r.output).slice(0, 200)}): this recovery point is crash-consistent.`);
  } catch (err) {
    warnings.push(`The pre-script could not run (${redact(String((err as Error).message ?? err)).slice(0, 200)}): this recovery point is crash-consistent.`);
  }
  return false;
}

async function thaw(deps: Deps, vm: VmInfo, settings: ConsistencySettings | undefined, warnings: string[]): Promise<void> {
  const script = settings?.postScript?.[osOf(vm)] ?? DEFAULT_SCRIPTS.post[osOf(vm)];
  try {
    const r = await deps.compute.runCommand(vm.id, vm.osType, script, timeoutOf(settings));
    if (!r.succeeded) warnings.push('The post-script (thaw) reported a failure; check the VM.');
  } catch {
    warnings.push('The post-script (thaw) could not run; check the VM.');
  }
}

/** One incremental snapshot per disk, all started together so they are as close in time as possible. */
async function snapshotDisks(deps: Deps, job: Job, item: ProtectedItem, vm: VmInfo): Promise<Map<string, string>> {
  const snapshots = new Map<string, string>();
  await Promise.all(
    vm.disks.map(async (d) => {
      const s = await deps.compute.createIncrementalSnapshot({
        diskId: d.diskId,
        resourceGroup: vm.resourceGroup,
        name: snapshotNameFor(job, diskKeyFor(d.lun)),
        location: vm.location,
        tags: sourceSnapshotTags(item.itemKey, job.jobId),
      });
      snapshots.set(d.diskId, s.id);
    }),
  );
  return snapshots;
}
