import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAppStack, type AppStack } from '../support/app-stack';
import { ConsistencyWorld } from '../support/consistency-world';
import type { Deps } from '../../src/core/jobs/deps';
import type { Consistency, Job } from '../../src/core/domain/model';
import type { VmRecord } from '../../src/emulator/arm/state';

/**
 * AZURE-FIDELITY B5 and M9 on the strict emulator through the real ArmComputeAdapter. Run Command as Azure runs
 * it (azure-compute-docs articles/virtual-machines/linux/run-command.md, Restrictions): 20 s at least (scaled),
 * one script at a time (409 Conflict), not cancellable, results that may never come back; Linux exit status only
 * in the message (Azure/azure-cli#14425), Windows always StdOut/StdErr succeeded (MicrosoftDocs/azure-docs-cli#4542).
 * Every case: the backup completes, the thaw is tried after every pre-script sent, no guest is frozen once the
 * scripts have run and the watchdog's time is over, and the label is true (checked against the guest's frozen
 * mounts sampled around every snapshot PUT).
 */

const SCALE = 1000; // the emulator's default: 20 s of Run Command are 20 ms
type Step = 'pre' | 'post';
type Fault = 'aborted' | 'abortedLate' | 'abortedShort' | 'abortedPastThaw' | 'abortedPastWindow' | 'refusedLate' | 'neverAnswers' | 'slow' | 'fails';

const POLICY_BASE = { timeZone: 'UTC', schedule: { frequency: 'Daily', times: ['02:00'] }, retention: { dailyDays: 7 }, instantRestoreDays: 1 } as const;
// 600 s client wait and a 300 s watchdog (600 ms and 300 ms here).
const FS = { mode: 'FileSystemConsistent' as const, scriptTimeoutSeconds: 600, thawAfterSeconds: 300 };
const POLICIES = {
  fs: FS,
  fs30: { ...FS, scriptTimeoutSeconds: 30 },
  // The policy defaults: a 60 s client wait and a 120 s watchdog.
  fsDefault: { mode: 'FileSystemConsistent' as const, scriptTimeoutSeconds: 60, thawAfterSeconds: 120 },
  userPostFails: { ...FS, preScript: { linux: 'fsfreeze -f /data0' }, postScript: { linux: 'exit 4' } },
  userPreFails: { ...FS, preScript: { linux: 'exit 3' }, postScript: { linux: 'fsfreeze -u /data0 || true' } },
  win: { ...FS, mode: 'ApplicationConsistent' as const, preScript: { windows: 'Write-Output VMBACKUP_OK' }, postScript: { windows: 'Write-Output VMBACKUP_OK' } },
  winPreFails: { ...FS, mode: 'ApplicationConsistent' as const, preScript: { windows: 'Write-Output VMBACKUP_OK; exit 1' }, postScript: { windows: 'Write-Output VMBACKUP_OK' } },
  winDefault: FS,
};

describe('consistency under Run Command faults: no guest left frozen, a true label (AZURE-FIDELITY B5, M9)', () => {
  let stack: AppStack;
  let w: ConsistencyWorld;
  let deps: Deps;
  let n = 0;
  beforeAll(async () => {
    stack = await startAppStack();
    w = new ConsistencyWorld(stack);
    deps = w.deps(SCALE);
    for (const [name, consistency] of Object.entries(POLICIES)) await deps.repos.policies.insert({ name, ...POLICY_BASE, consistency } as never);
  });
  afterAll(async () => stack?.stop());

  const vmFor = async (os: 'Linux' | 'Windows', policy: keyof typeof POLICIES, d = deps): Promise<VmRecord> => {
    const vm = w.createVm(`${os === 'Linux' ? 'lin' : 'win'}${++n}`, os);
    await w.register(d, vm, policy);
    return vm;
  };
  const only = (vm: VmRecord): RegExp => new RegExp(`/virtualMachines/${vm.name}$`, 'i');

  /** Puts the fault on the pre-script (now) or on the post-script (at the first snapshot, when the pre is done). */
  function inject(vm: VmRecord, step: Step, fault: Fault): void {
    const emu = stack.emulator;
    const apply = (): void => {
      if (fault === 'aborted') emu.runCommands.slow({ extraMs: 2000, times: 1, vm: only(vm) }); // ends after the first thaw's wait
      if (fault === 'abortedLate') emu.runCommands.slow({ extraMs: 700, times: 1, vm: only(vm) }); // ends while the thaw retries
      // The freeze runs only after the first thaw's whole wait (two client waits) has been refused with 409.
      if (fault === 'abortedPastThaw') emu.runCommands.slow({ extraMs: 1500, times: 1, vm: only(vm) });
      // The freeze runs only after the watchdog's time plus a client wait (1.8 s at the test's client scale) from
      // the first thaw, every thaw meanwhile refused with 409: an extension slow to start, as the soak found once.
      if (fault === 'abortedPastWindow') emu.runCommands.slow({ extraMs: 4000, times: 1, vm: only(vm) });
      // The same late freeze, and every Run Command request answered 300 ms late (half the client's wait): the
      // 409 that refuses a thaw arrives after the client's deadline, and must still be read as a refusal.
      if (fault === 'refusedLate') {
        emu.runCommands.slow({ extraMs: 4000, times: 1, vm: only(vm) });
        emu.faults.lag({ plane: 'arm', method: 'POST', path: new RegExp(`/virtualMachines/${vm.name}/runCommand$`, 'i'), ms: 300, times: 1000 });
      }
      if (fault === 'neverAnswers') emu.runCommands.neverAnswer({ times: 1, vm: only(vm) });
      if (fault === 'slow') emu.runCommands.slow({ extraMs: 60, times: 1, vm: only(vm) }); // slower, still in time
      if (fault === 'fails' && step === 'post') vm.runCommandResult = { succeeded: false, output: 'thaw failed' };
      // Someone else froze /data1: the default freeze meets EBUSY under set -e and exits 1 (fsfreeze(8)).
      if (fault === 'fails' && step === 'pre' && vm.osType === 'Linux') emu.guests.run(vm, 'fsfreeze -f /data1');
    };
    if (step === 'pre') apply();
    else w.atFirstSnapshot.set(vm.name, apply);
  }

  async function check(vm: VmRecord, policy: keyof typeof POLICIES, step: Step, fault: Fault | 'none', expected: Consistency, d = deps): Promise<Job> {
    const busyBefore = stack.emulator.armStats.runCommandsRefusedBusy;
    const job = await w.backup(d, vm);
    // Not only once the watchdog's time is over: no guest is frozen when the job ends, since the thaw is sent
    // until one answers (a freeze that ran late is then undone by it, not left to the watchdog).
    expect(stack.emulator.guests.frozenOf(vm), 'a file system still frozen when the job ended').toEqual([]);
    expect(job.consistency).toBe(expected);
    w.expectLabelTrue(vm, job);
    const sent = w.scripts(vm);
    // The thaw was tried after the freeze, whatever the freeze answered: accepted, or refused with 409 Conflict
    // while the freeze still ran (refused scripts are not recorded as sent).
    const refused = stack.emulator.armStats.runCommandsRefusedBusy - busyBefore;
    expect(sent.length + refused).toBeGreaterThanOrEqual(2);
    if (vm.osType === 'Linux' && !POLICIES[policy].postScript && refused === 0) expect(sent.at(-1)!.script).toMatch(/fsfreeze -u/);
    if (step === 'pre' && (fault === 'aborted' || fault === 'abortedLate')) expect(refused).toBeGreaterThan(0);
    // A freeze that ends while the thaw still retries is undone by the product's own thaw, not only the watchdog.
    if (step === 'pre' && fault === 'abortedLate') expect(sent.map((x) => /fsfreeze -u "\$m" 2>\/dev\/null &&/.test(x.script))).toEqual([false, true]);
    if (step === 'pre' && (fault === 'abortedPastThaw' || fault === 'abortedPastWindow' || fault === 'refusedLate')) {
      // The thaw was sent again until one ran: after the late freeze, so it undid it (the first thaw gave up).
      const [freeze, ...thaws] = stack.emulator.state.runCommands.filter((r) => r.vmId.toLowerCase() === vm.id.toLowerCase());
      expect(thaws.map((t) => t.finishedAt! > freeze!.finishedAt!)).toEqual([true]);
      expect(job.warnings.join('\n')).not.toMatch(/the thaw's result did not come back/);
    }
    await w.noGuestFrozenAfterWatchdog(vm);
    return job;
  }

  it('Linux, no fault: file-system consistent, the data file systems frozen around every snapshot, the OS disk said crash-consistent', async () => {
    const vm = await vmFor('Linux', 'fs');
    const job = await check(vm, 'fs', 'pre', 'none', 'FileSystemConsistent');
    expect(job.status).toBe('Completed'); // what was asked was reached: nothing to warn about
  });

  const linux: [Step, Fault, Consistency][] = [
    ['pre', 'aborted', 'CrashConsistent'],
    ['pre', 'abortedLate', 'CrashConsistent'],
    ['pre', 'neverAnswers', 'CrashConsistent'],
    ['pre', 'slow', 'FileSystemConsistent'],
    ['pre', 'fails', 'CrashConsistent'],
    ['post', 'aborted', 'CrashConsistent'],
    ['post', 'neverAnswers', 'CrashConsistent'],
    ['post', 'slow', 'FileSystemConsistent'],
    ['post', 'fails', 'CrashConsistent'],
  ];
  for (const [step, fault, expected] of linux) {
    it(`Linux, ${step}-script ${fault}: ${expected}, guest thawed`, async () => {
      const vm = await vmFor('Linux', 'fs');
      inject(vm, step, fault);
      await check(vm, 'fs', step, fault, expected);
    });
  }

  it('Linux, client timeout shorter than the scaled 20 s minimum: every script aborts, yet the freeze happens and is undone; crash-consistent', async () => {
    const short = w.deps(SCALE * 2); // 30 s of client wait are 15 ms, below the emulator's 20 ms minimum
    const vm = await vmFor('Linux', 'fs30', short);
    await check(vm, 'fs30', 'pre', 'abortedShort', 'CrashConsistent', short);
  });

  it('Linux, policy defaults, the freeze runs only after the first thaw gave up: the thaw is sent again, runs after it and undoes it', async () => {
    const slower = w.deps(SCALE / 10); // 60 s of client wait are 600 ms, the emulator's 20 s minimum still 20 ms
    const vm = await vmFor('Linux', 'fsDefault', slower);
    inject(vm, 'pre', 'abortedPastThaw');
    await check(vm, 'fsDefault', 'pre', 'abortedPastThaw', 'CrashConsistent', slower);
  });

  it('Linux, policy defaults, the freeze runs only after the watchdog time plus a wait from the first thaw: thaws refused as busy are sent on (within the step budget), and one undoes it', async () => {
    const slower = w.deps(SCALE / 10);
    const vm = await vmFor('Linux', 'fsDefault', slower);
    inject(vm, 'pre', 'abortedPastWindow');
    await check(vm, 'fsDefault', 'pre', 'abortedPastWindow', 'CrashConsistent', slower);
  });

  it('Linux, policy defaults, the same late freeze with every Run Command request answered late: a 409 that arrives past the client deadline is still a refusal, and the thaw is sent on', async () => {
    const slower = w.deps(SCALE / 10);
    const vm = await vmFor('Linux', 'fsDefault', slower);
    inject(vm, 'pre', 'refusedLate');
    try {
      await check(vm, 'fsDefault', 'pre', 'refusedLate', 'CrashConsistent', slower);
    } finally {
      stack.emulator.faults.clear();
    }
  });

  it("Linux, the user's post-script fails (exit 4) and thaws nothing: the product's default thaw runs after it, and its watchdog stays as the last resort", async () => {
    const vm = await vmFor('Linux', 'userPostFails');
    await check(vm, 'userPostFails', 'post', 'fails', 'CrashConsistent');
    const sent = w.scripts(vm).map((x) => x.script);
    expect(sent[0]).toMatch(/sleep 300; for m in/); // the watchdog, armed before the user's freeze
    expect(sent.slice(1)).toEqual(['exit 4', expect.stringMatching(/fsfreeze -u "\$m" 2>\/dev\/null &&/)]);
  });

  it("Linux, the user's pre-script fails (exit 3, reported as succeeded with 'exit status=3' only in the message): crash-consistent", async () => {
    const vm = await vmFor('Linux', 'userPreFails');
    const job = await check(vm, 'userPreFails', 'pre', 'fails', 'CrashConsistent');
    expect(job.warnings.join('\n')).toMatch(/exited with status 3/);
  });

  const windows: [Step, Fault][] = [
    ['pre', 'aborted'],
    ['pre', 'neverAnswers'],
    ['pre', 'slow'],
    ['post', 'aborted'],
    ['post', 'neverAnswers'],
    ['post', 'slow'],
    ['post', 'fails'],
  ];
  for (const [step, fault] of windows) {
    it(`Windows, user scripts, ${step}-script ${fault}: crash-consistent (no VMBACKUP_OK read back), the post-script still sent`, async () => {
      const vm = await vmFor('Windows', 'win');
      inject(vm, step, fault);
      await check(vm, 'win', step, fault, 'CrashConsistent');
    });
  }

  it('Windows, the pre-script exits 1 (StdOut/StdErr both "succeeded"): crash-consistent, the post-script still sent', async () => {
    const vm = await vmFor('Windows', 'winPreFails');
    await check(vm, 'winPreFails', 'pre', 'fails', 'CrashConsistent');
  });

  it('Windows without scripts of its own: no Run Command at all, crash-consistent with the reason, never application-consistent', async () => {
    const vm = await vmFor('Windows', 'winDefault');
    const job = await w.backup(deps, vm);
    expect(job.consistency).toBe('CrashConsistent');
    expect(job.warnings.join('\n')).toMatch(/no VSS snapshot/);
    expect(job.warnings.join('\n')).toMatch(/Disks snapshotted independently/);
    expect(w.scripts(vm)).toEqual([]);
  });
});
