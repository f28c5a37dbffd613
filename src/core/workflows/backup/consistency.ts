import type { Consistency, Job, ProtectedItem } from '../../domain/model';
import type { SnapshotInfo, VmInfo } from '../../ports/compute';
import { redact } from '../../redact';
import { armThrottleOf, jitteredRetryMs } from '../../errors';
import type { Deps } from '../../jobs/deps';
import { diskKeyFor, snapshotNameFor, sourceSnapshotTags } from '../../store/layout';
import { verdict, type ScriptRun } from './consistency-verdict';
import { clampThawAfter, guestOs, linuxPostScript, linuxPreScript } from './guest-scripts';

export interface ConsistencySettings {
  mode: Consistency;
  preScript?: { linux?: string; windows?: string };
  postScript?: { linux?: string; windows?: string };
  scriptTimeoutSeconds?: number;
  /** The guest thaws itself this long after the pre-script, whatever happens to vmbackup (the watchdog). */
  thawAfterSeconds?: number;
}

export interface ConsistencyOutcome {
  /** Each disk's new snapshot by disk id, as the create answered it (readiness, sector size, family). */
  snapshots: Map<string, SnapshotInfo>;
  /** The consistency reached, not the one asked for. */
  consistency: Consistency;
  /** Why the point is below what the policy asked for (the job completes with warnings). */
  warnings: string[];
  /** What the point is, in words, when that is what was asked: the OS disk's share, disks taken independently. */
  notes: string[];
  /**
   * The disks of the point form one write-order-consistent set: there is one disk, or the guest was held
   * quiesced across every snapshot. Otherwise each disk is crash-consistent on its own (AZURE-FIDELITY M9).
   */
  disksConsistentSet: boolean;
}

/** Run Command takes 20 s at least (run-command.md, Restrictions): a shorter wait always aborts. */
const MIN_SCRIPT_TIMEOUT_SECONDS = 30;
const timeoutOf = (s: ConsistencySettings | undefined): number => Math.max(MIN_SCRIPT_TIMEOUT_SECONDS, s?.scriptTimeoutSeconds ?? 60);

/**
 * Quiesces the guest when the policy asks for it, snapshots every disk, and always runs the thaw once a
 * pre-script was sent, whatever its answer: an aborted or unanswered freeze may still happen in the guest.
 * The guest's watchdog undoes the freeze on its own if the thaw cannot run. What is not reached is recorded:
 * the backup still runs, crash-consistent, with a warning, because a slightly worse recovery point beats none.
 */
export async function freezeAndSnapshot(deps: Deps, job: Job, item: ProtectedItem, vm: VmInfo, settings: ConsistencySettings | undefined): Promise<ConsistencyOutcome> {
  const wanted: Consistency = settings?.mode ?? 'CrashConsistent';
  const warnings: string[] = [];
  const notes: string[] = [];
  const scripts = wanted === 'CrashConsistent' ? undefined : scriptsFor(vm, job, settings, warnings);
  let consistency: Consistency = 'CrashConsistent';
  let held = false;
  let snapshots: Map<string, SnapshotInfo>;
  if (!scripts) {
    snapshots = await snapshotDisks(deps, job, item, vm);
  } else {
    const pre = await run(deps, vm, scripts.pre, settings);
    if (pre.throttled) {
      // A throttled freeze is no failed one: the step waits for ARM and freezes then, instead of settling for
      // crash consistency. The thaw runs first, in case the script started before a poll was throttled.
      await thaw(deps, vm, scripts, settings);
      throw pre.throttled;
    }
    let post: ScriptRun = { error: 'not run' };
    try {
      snapshots = await snapshotDisks(deps, job, item, vm);
    } finally {
      post = await thaw(deps, vm, scripts, settings);
    }
    const v = verdict(wanted, { os: guestOs(vm.osType), userScripts: scripts.user, thawAfterSeconds: scripts.thawAfter, pre, post });
    consistency = v.consistency;
    held = v.heldAcrossSnapshots;
    warnings.push(...v.warnings);
    notes.push(...v.notes);
  }
  const disksConsistentSet = vm.disks.length <= 1 || held;
  if (!disksConsistentSet) {
    (wanted === 'CrashConsistent' ? notes : warnings).push(
      `Disks snapshotted independently: each of the ${vm.disks.length} disks is crash-consistent on its own, but the guest was not held quiesced across the snapshots, so together they are not a write-order-consistent set (data spread over several disks, such as a database and its log, may not recover together).`,
    );
  }
  return { snapshots, consistency, warnings, notes, disksConsistentSet };
}

interface Scripts {
  pre: string;
  post: string;
  user: boolean;
  thawAfter: number;
}

/** The scripts to run, or undefined (with the reason in the warnings) when the guest cannot be quiesced. */
function scriptsFor(vm: VmInfo, job: Job, settings: ConsistencySettings | undefined, warnings: string[]): Scripts | undefined {
  if (vm.powerState !== 'running') {
    warnings.push(`The VM is ${vm.powerState}, so no pre-script ran: this recovery point is crash-consistent.`);
    return undefined;
  }
  if (!vm.guestAgentReady) {
    warnings.push('The VM guest agent is not ready, so no pre-script ran: this recovery point is crash-consistent. Check the VM agent.');
    return undefined;
  }
  const thawAfter = clampThawAfter(settings?.thawAfterSeconds);
  const os = guestOs(vm.osType);
  const userPre = settings?.preScript?.[os];
  const userPost = settings?.postScript?.[os];
  if (os === 'windows') {
    if (!userPre || !userPost) {
      // Holding a VSS snapshot across two Run Commands of 20 s or more each cannot work (VSS allows 60 s between
      // freeze and thaw), so there is no default Windows script that quiesces: say so instead of pretending.
      warnings.push(
        'Windows VMs are snapshotted without quiescing: vmbackup has no VSS snapshot of its own, so this recovery point is crash-consistent. For more, give the policy a Windows pre- and post-script that quiesce your applications and print VMBACKUP_OK when they succeed.',
      );
      return undefined;
    }
    return { pre: userPre, post: userPost, user: true, thawAfter };
  }
  if (!userPre !== !userPost) {
    warnings.push('The policy has only one of the Linux pre- and post-scripts; the default freeze and thaw run instead.');
  }
  const user = !!userPre && !!userPost;
  return { pre: linuxPreScript(job.jobId, thawAfter, user ? userPre : undefined), post: linuxPostScript(user ? userPost : undefined), user, thawAfter };
}

/** Between two thaws sent in a row (Azure seconds): Run Command's own minimum is about 20 s. */
const THAW_RETRY_SECONDS = 5;

/**
 * The thaw, sent again until one answers: a freeze the client gave up on (slow to start, its answer lost, or its
 * request cut in flight) still runs in the guest, and a thaw that did not run meanwhile would leave the guest
 * frozen after the job until the watchdog. Run Command runs scripts in order, so a thaw that answers ran after
 * the freeze. Insisting is safe whatever the failure: a thaw that did run makes the next one wait (409) until it
 * ends, and thawing a thawed guest only reports it not frozen. Sent on for up to half the step's budget, after
 * ARM's Retry-After when throttled; an earlier bound for failures that "may have run" (the watchdog's time) let
 * the 1000-run soak end jobs whose freeze, cut in flight under load, ran after it.
 * When the user's own Linux post-script fails, the default thaw runs as well, so the default mounts do not wait
 * for the watchdog either.
 */
async function thaw(deps: Deps, vm: VmInfo, scripts: Scripts, settings: ConsistencySettings | undefined): Promise<ScriptRun> {
  const scale = deps.config.arm.timeScale;
  // The step's budget is local time (the invocation's own clock); the pause between thaws is Azure's.
  const until = Date.now() + (deps.config.stepBudget.seconds * 1000) / 2;
  let post = await run(deps, vm, scripts.post, settings);
  // Each thaw waits twice as long as the one before (within the bound): when none is answered within the
  // policy's wait (a Run Command slow on this VM), sending more of the same wait would only queue more scripts.
  let wait = timeoutOf(settings);
  while (!post.result) {
    const throttle = armThrottleOf(post.throttled);
    const pause = throttle ? jitteredRetryMs(throttle.retryAfterMs) : (THAW_RETRY_SECONDS * 1000) / scale;
    if (Date.now() + (throttle ? throttle.retryAfterMs : 0) >= until) break;
    await new Promise((r) => setTimeout(r, Math.max(0, Math.min(pause, until - Date.now()))));
    if (!throttle) wait *= 2;
    const left = ((until - Date.now()) * scale) / 1000;
    if (left <= 0) break;
    post = await run(deps, vm, scripts.post, settings, Math.min(wait, Math.max(MIN_SCRIPT_TIMEOUT_SECONDS, left)));
  }
  if (scripts.user && guestOs(vm.osType) === 'linux' && !post.result?.succeeded) await run(deps, vm, linuxPostScript(), settings);
  return post;
}

/** One Run Command; when it was throttled, the error (its Retry-After paces the next). */
async function run(deps: Deps, vm: VmInfo, script: string, settings: ConsistencySettings | undefined, waitSeconds = timeoutOf(settings)): Promise<ScriptRun & { throttled?: unknown }> {
  try {
    return { result: await deps.compute.runCommand(vm.id, vm.osType, script, waitSeconds) };
  } catch (err) {
    return { error: redact(String((err as Error)?.message ?? err)), ...(armThrottleOf(err) ? { throttled: err } : {}) };
  }
}

/**
 * One incremental snapshot per disk, all started together so they are as close in time as possible. If one is
 * refused, the others of this attempt are deleted (best effort): the step runs again under a new freeze, and
 * snapshots left from this one would then join a set the new freeze did not hold.
 */
async function snapshotDisks(deps: Deps, job: Job, item: ProtectedItem, vm: VmInfo): Promise<Map<string, SnapshotInfo>> {
  const snapshots = new Map<string, SnapshotInfo>();
  const results = await Promise.allSettled(
    vm.disks.map(async (d) => {
      const s = await deps.compute.createIncrementalSnapshot({
        diskId: d.diskId,
        resourceGroup: vm.resourceGroup,
        name: snapshotNameFor(job, diskKeyFor(d.lun)),
        location: vm.location,
        tags: sourceSnapshotTags(item.itemKey, job.jobId),
      });
      snapshots.set(d.diskId, s);
    }),
  );
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (!failed) return snapshots;
  await Promise.all([...snapshots.values()].map((s) => deps.compute.deleteSnapshot(s.id).catch(() => undefined)));
  throw failed.reason;
}
