import type { Consistency } from '../../domain/model';
import type { RunCommandResult } from '../../ports/compute';
import { redact } from '../../redact';
import { MARK, marked, WINDOWS_OK, windowsReportedOk, type GuestOs } from './guest-scripts';

/** What one Run Command gave: its result, or why there is none (aborted, never answered, refused). */
export type ScriptRun = { result: RunCommandResult; error?: undefined } | { result?: undefined; error: string };

export interface GuestRuns {
  os: GuestOs;
  /** The product's default Linux scripts (their output is read per mount), or the user's own. */
  userScripts: boolean;
  thawAfterSeconds: number;
  pre: ScriptRun;
  post: ScriptRun;
}

export interface Verdict {
  consistency: Consistency;
  /** Why the point is below what the policy asked for. */
  warnings: string[];
  /** What the point is, when it is what was asked (not warnings: the job completes without them). */
  notes: string[];
  /** The guest was held quiesced across every snapshot, so the disks form one write-order-consistent set. */
  heldAcrossSnapshots: boolean;
}

const short = (s: string | undefined): string => redact((s ?? '').trim()).slice(0, 200);
const CRASH = 'this recovery point is crash-consistent';

function failure(run: ScriptRun, what: string): string {
  if (run.error !== undefined) return `the ${what}'s result did not come back (${short(run.error)})`;
  const r = run.result!;
  const detail = short(r.stderr || r.output);
  return r.exitStatus !== undefined ? `the ${what} exited with status ${r.exitStatus}${detail ? `: ${detail}` : ''}` : `the ${what} reported a failure${detail ? `: ${detail}` : ''}`;
}

/**
 * The consistency a point really has. Never above crash-consistent unless the guest said, before the snapshots,
 * that it was quiesced (pre-script success read from the exit status, not the operation's state) and said after
 * them that it still was (post-script): a freeze the watchdog had already undone shows as a mount not frozen.
 */
export function verdict(wanted: Consistency, g: GuestRuns): Verdict {
  const warnings: string[] = [];
  const notes: string[] = [];
  const selfThaw = `The guest undoes the freeze by itself at most ${g.thawAfterSeconds} s after the pre-script, and vmbackup ran the thaw as well.`;
  const crash = (why: string): Verdict => ({ consistency: 'CrashConsistent', heldAcrossSnapshots: false, notes, warnings: [`${capital(why)}: ${CRASH}. ${selfThaw}`] });
  if (!ok(g.pre, g.os)) return crash(preFailure(g));
  if (g.userScripts) {
    if (!ok(g.post, g.os)) return crash(`${failure(g.post, 'post-script')}, so vmbackup cannot tell that the guest stayed quiesced across the snapshots`);
    return { consistency: wanted, heldAcrossSnapshots: true, warnings, notes };
  }
  const frozen = marked(g.pre.result!.stdout, MARK.frozen);
  if (frozen.length === 0) return crash("the guest has no data file system to freeze (`/` and the VM agent's mounts are never frozen)");
  if (!g.post.result?.succeeded) return crash(`${failure(g.post, 'thaw')}, so vmbackup cannot tell that the freeze held across every snapshot`);
  const thawed = new Set(marked(g.post.result.stdout, MARK.thawed));
  const early = frozen.filter((m) => !thawed.has(m));
  if (early.length > 0) return crash(`${early.join(', ')} thawed before vmbackup's thaw ran, so the freeze may not have held across every snapshot`);
  if (wanted === 'ApplicationConsistent')
    warnings.push('The default Linux script freezes file systems only, so this point is file-system consistent; application consistency needs your own pre- and post-scripts in the policy.');
  notes.push(`File systems frozen across every snapshot: ${frozen.join(', ')}. The OS disk's own file system (\`/\`) is never frozen, so its data is crash-consistent.`);
  return { consistency: 'FileSystemConsistent', heldAcrossSnapshots: true, warnings, notes };
}

function ok(run: ScriptRun, os: GuestOs): boolean {
  if (!run.result?.succeeded) return false;
  return os === 'linux' || windowsReportedOk(run.result.stdout);
}

function preFailure(g: GuestRuns): string {
  const r = g.pre.result;
  if (g.os === 'windows' && r?.succeeded) return `the pre-script did not print ${WINDOWS_OK} on StdOut (Azure reports no exit code for Windows scripts, so success must be said explicitly)`;
  return g.pre.error !== undefined ? `${failure(g.pre, 'pre-script')}; the guest may still have quiesced, since a running script cannot be cancelled` : failure(g.pre, 'pre-script');
}

const capital = (s: string): string => s.charAt(0).toUpperCase() + s.slice(1);
