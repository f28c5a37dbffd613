import type { OsType } from '../../domain/model';

/**
 * The scripts vmbackup runs in a guest through Run Command, and what their output means. Why a watchdog in the
 * script (and not the managed runCommands resource or VM restore points): docs/ARCHITECTURE.md, "Consistency".
 *
 * Linux (default): file systems are frozen with fsfreeze(8) and a background watchdog thaws them N seconds later
 * whatever happens to the client, since a Run Command cannot be cancelled and its result may never come back
 * (azure-compute-docs articles/virtual-machines/linux/run-command.md, Restrictions). The RunCommandLinux
 * extension waits for the script's shell only and writes its output to files
 * (Azure/run-command-extension-linux main/exec.go), so a background job does not hold the command open.
 * Each freeze arms the watchdog with its own token (in /run, a tmpfs that is never frozen): a watchdog left over
 * from an earlier backup finds another token and does nothing; the post-script thaws, then disarms and kills it.
 *
 * Never frozen: `/` and the mounts the VM agent writes to (/var, /var/lib, /var/lib/waagent, /var/log). While
 * they were frozen the agent could not take the post-script in, so only the watchdog would thaw. The OS disk's
 * snapshot is therefore crash-consistent; the point says so in its warnings.
 */

/** Mounts the default scripts freeze: ext4, xfs and btrfs, less `/` and the agent's own directories. */
const MOUNTS = '$(findmnt -rn -t ext4,xfs,btrfs -o TARGET | grep -v "^/$" | grep -v "^/var$" | grep -v "^/var/lib$" | grep -v "^/var/lib/waagent$" | grep -v "^/var/log$")';
const ARMED = '/run/vmbackup/armed';
const WATCHDOG_PID = '/run/vmbackup/watchdog.pid';

/** Lines a default script prints per mount, read back by the product. */
export const MARK = { frozen: 'vmbackup-frozen', thawed: 'vmbackup-thawed', notFrozen: 'vmbackup-not-frozen' } as const;
/** The line a user's Windows script prints on StdOut when it succeeded: Azure reports no Windows exit code. */
export const WINDOWS_OK = 'VMBACKUP_OK';

/** The watchdog's bounds (seconds): long enough for two Run Commands (20 s or more each) and the snapshots, and
 * well inside the 10-minute step (host.json functionTimeout), so the guest is thawed before the step can die. */
export const THAW_AFTER = { min: 60, default: 120, max: 300 } as const;

export const clampThawAfter = (s: number | undefined): number => Math.min(THAW_AFTER.max, Math.max(THAW_AFTER.min, Math.round(s ?? THAW_AFTER.default)));

/** A token safe to put in a shell word unquoted. */
const tokenOf = (jobId: string): string => jobId.replace(/[^A-Za-z0-9-]/g, '').slice(-40) || 'vmbackup';

/** Arms the watchdog before anything is frozen, so even a script that dies half-way is undone. */
function watchdogLines(jobId: string, thawAfterSeconds: number): string[] {
  const token = tokenOf(jobId);
  return [
    'mkdir -p /run/vmbackup',
    `echo ${token} > ${ARMED}`,
    `( sleep ${thawAfterSeconds}; for m in ${MOUNTS}; do [ "$(cat ${ARMED} 2>/dev/null)" = "${token}" ] && fsfreeze -u "$m" 2>/dev/null; done ) &`,
    `echo $! > ${WATCHDOG_PID}`,
  ];
}

export function linuxPreScript(jobId: string, thawAfterSeconds: number, userScript?: string): string {
  const body = userScript !== undefined ? [userScript] : ['sync', 'set -e', `for m in ${MOUNTS}; do fsfreeze -f "$m"; echo "${MARK.frozen} $m"; done`];
  return [...watchdogLines(jobId, thawAfterSeconds), ...body].join('\n');
}

/** Thaws first (a thaw of a file system that is not frozen is reported, not fatal), then disarms the watchdog. */
export function linuxPostScript(userScript?: string): string {
  if (userScript !== undefined) return userScript; // the watchdog stays armed: it thaws the default mounts later
  return [
    `for m in ${MOUNTS}; do fsfreeze -u "$m" 2>/dev/null && echo "${MARK.thawed} $m" || echo "${MARK.notFrozen} $m"; done`,
    `rm -f ${ARMED}`,
    `kill "$(cat ${WATCHDOG_PID} 2>/dev/null)" 2>/dev/null || true`,
  ].join('\n');
}

/** Mounts a default script's output names after `mark`. */
export function marked(stdout: string | undefined, mark: string): string[] {
  return [...(stdout ?? '').matchAll(new RegExp(`^${mark} (\\S+)\\s*$`, 'gm'))].map((m) => m[1]!);
}

export const windowsReportedOk = (stdout: string | undefined): boolean => new RegExp(`^\\s*${WINDOWS_OK}\\s*$`, 'm').test(stdout ?? '');

export type GuestOs = Lowercase<OsType>;
export const guestOs = (osType: OsType): GuestOs => (osType === 'Windows' ? 'windows' : 'linux');
