import { describe, expect, it } from 'vitest';
import { interpretRunCommand } from '../../../src/core/adapters/azure/run-command-result';
import { verdict, type GuestRuns } from '../../../src/core/workflows/backup/consistency-verdict';

// Answer shapes as Azure gives them, quoted in the issues cited next to each case.
const linux = (message: string) => [{ code: 'ProvisioningState/succeeded', level: 'Info', displayStatus: 'Provisioning succeeded', message }];
const windows = (stdout: string, stderr: string) => [
  { code: 'ComponentStatus/StdOut/succeeded', level: 'Info', displayStatus: 'Provisioning succeeded', message: stdout },
  { code: 'ComponentStatus/StdErr/succeeded', level: 'Info', displayStatus: 'Provisioning succeeded', message: stderr },
];

describe('Run Command verdict from the script, not the operation state', () => {
  it('Linux exit 0: "Enable succeeded" with [stdout]/[stderr] sections', () => {
    const r = interpretRunCommand('Linux', linux('Enable succeeded: \n[stdout]\nvmbackup-frozen /data0\n\n[stderr]\n'));
    expect(r).toMatchObject({ succeeded: true, exitStatus: 0, stdout: 'vmbackup-frozen /data0\n' });
  });

  it('Linux exit 123 stays ProvisioningState/succeeded; only the message says so (Azure/azure-cli#14425)', () => {
    const r = interpretRunCommand('Linux', linux('Enable failed: failed to execute command: command terminated with exit status=123\n[stdout]\n\n[stderr]\nboom\n'));
    expect(r).toMatchObject({ succeeded: false, exitStatus: 123, stderr: 'boom' });
  });

  it('Linux message with neither form: not a success', () => {
    expect(interpretRunCommand('Linux', linux('')).succeeded).toBe(false);
  });

  it('Windows Exit 1 gives StdOut and StdErr "succeeded" and an empty StdErr (MicrosoftDocs/azure-docs-cli#4542): no exit code is known', () => {
    const r = interpretRunCommand('Windows', windows('[win-vm] This is script should fail', ''));
    expect(r.exitStatus).toBeUndefined();
    expect(r.succeeded).toBe(true); // nothing says it failed, which is why success must be printed explicitly
  });

  it('Windows throw / Write-Error fill StdErr: a failure (Azure/azure-cli#6898 shows Write-Error)', () => {
    expect(interpretRunCommand('Windows', windows('', 'hoge : The term ...')).succeeded).toBe(false);
  });
});

const ok = (stdout: string) => ({ result: { succeeded: true, output: stdout, exitStatus: 0, stdout, stderr: '' } });
const base: Omit<GuestRuns, 'pre' | 'post'> = { os: 'linux', userScripts: false, thawAfterSeconds: 120 };

describe('the consistency a point is labelled with', () => {
  it('Linux default: file-system consistent only when every frozen mount is still frozen at the thaw', () => {
    const pre = ok('vmbackup-frozen /data0\nvmbackup-frozen /data1');
    expect(verdict('FileSystemConsistent', { ...base, pre, post: ok('vmbackup-thawed /data0\nvmbackup-thawed /data1') })).toMatchObject({
      consistency: 'FileSystemConsistent',
      heldAcrossSnapshots: true,
      warnings: [],
    });
    const early = verdict('FileSystemConsistent', { ...base, pre, post: ok('vmbackup-thawed /data0\nvmbackup-not-frozen /data1') });
    expect(early).toMatchObject({ consistency: 'CrashConsistent', heldAcrossSnapshots: false });
    expect(early.warnings[0]).toMatch(/\/data1 thawed before vmbackup's thaw/);
  });

  it('Linux default with nothing to freeze (only `/`): crash-consistent, never file-system consistent', () => {
    expect(verdict('FileSystemConsistent', { ...base, pre: ok(''), post: ok('') }).consistency).toBe('CrashConsistent');
  });

  it('Linux default asked for application consistency: file-system consistent, with the reason', () => {
    const v = verdict('ApplicationConsistent', { ...base, pre: ok('vmbackup-frozen /data0'), post: ok('vmbackup-thawed /data0') });
    expect(v.consistency).toBe('FileSystemConsistent');
    expect(v.warnings[0]).toMatch(/freezes file systems only/);
  });

  it('an unanswered pre-script: crash-consistent, and the warning says the guest may still have frozen', () => {
    const v = verdict('FileSystemConsistent', { ...base, pre: { error: 'The operation was aborted.' }, post: ok('vmbackup-not-frozen /data0') });
    expect(v.consistency).toBe('CrashConsistent');
    expect(v.warnings[0]).toMatch(/may still have quiesced.*at most 120 s/s);
  });

  it('Windows user scripts: application consistent only when both print VMBACKUP_OK (the case the emulator cannot give: it models no Windows StdOut)', () => {
    const win = { ...base, os: 'windows' as const, userScripts: true };
    expect(verdict('ApplicationConsistent', { ...win, pre: ok('VMBACKUP_OK'), post: ok('VMBACKUP_OK') }).consistency).toBe('ApplicationConsistent');
    const silent = verdict('ApplicationConsistent', { ...win, pre: ok('done'), post: ok('VMBACKUP_OK') });
    expect(silent.consistency).toBe('CrashConsistent');
    expect(silent.warnings[0]).toMatch(/did not print VMBACKUP_OK/);
    expect(verdict('ApplicationConsistent', { ...win, pre: ok('VMBACKUP_OK'), post: { error: 'aborted' } }).consistency).toBe('CrashConsistent');
  });
});
