import type { RunCommandResult } from '../../ports/compute';

/** One entry of the action Run Command's result (`RunCommandResult.value`, an InstanceViewStatus). */
export interface RunCommandStatus {
  code?: string;
  level?: string;
  message?: string;
}

/**
 * Reads the script's verdict from what the action Run Command answers, never from the operation's state:
 * - Linux keeps `ProvisioningState/succeeded`, level Info, for a non-zero exit; only the message says
 *   "Enable failed: failed to execute command: command terminated with exit status=N" (Azure/azure-cli#14425,
 *   #25948; the RunCommandLinux extension's wording, Azure/run-command-extension-linux main/exec.go) and
 *   "Enable succeeded: " on exit 0, followed by `[stdout]` and `[stderr]` sections.
 * - Windows answers `ComponentStatus/StdOut/succeeded` and `ComponentStatus/StdErr/succeeded` also for
 *   `Exit 1` (MicrosoftDocs/azure-docs-cli#4542, Azure/azure-cli#29750): there is no exit code at all, and an
 *   `Exit 1` leaves StdErr empty, so StdErr only tells of errors PowerShell wrote (Write-Error, throw).
 * A status whose code or level says failed (older agents, Azure/azure-cli#6898) is a failure either way.
 */
export function interpretRunCommand(osType: 'Linux' | 'Windows', statuses: RunCommandStatus[]): RunCommandResult {
  const output = statuses.map((s) => s.message ?? '').join('\n');
  const failedStatus = statuses.some((s) => /failed/i.test(s.code ?? '') || s.level === 'Error');
  if (osType === 'Windows') {
    const stdout = statuses.find((s) => /\/StdOut\//i.test(s.code ?? ''))?.message ?? '';
    const stderr = statuses.find((s) => /\/StdErr\//i.test(s.code ?? ''))?.message ?? '';
    return { succeeded: !failedStatus && stderr.trim() === '', output, stdout, stderr };
  }
  const message = statuses.find((s) => /^ProvisioningState\//i.test(s.code ?? ''))?.message ?? output;
  const exitStatus = linuxExitStatus(message);
  return { succeeded: !failedStatus && exitStatus === 0, output, exitStatus, ...linuxStreams(message) };
}

/** 0 for "Enable succeeded", N for "exit status=N", undefined when the message says neither. */
export function linuxExitStatus(message: string): number | undefined {
  const n = /exit status=(\d+)/.exec(message);
  if (n) return Number(n[1]);
  return /^\s*Enable succeeded/.test(message) ? 0 : undefined;
}

function linuxStreams(message: string): { stdout: string; stderr: string } {
  const m = /\[stdout\]\n?([\s\S]*?)\n?\[stderr\]\n?([\s\S]*)$/.exec(message);
  return m ? { stdout: m[1]!, stderr: m[2]!.replace(/\n$/, '') } : { stdout: '', stderr: '' };
}
