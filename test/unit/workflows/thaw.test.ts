import { describe, expect, it } from 'vitest';
import { backupNow } from '../../../src/core/workflows/protection/protection';
import { armThrottled, runCommandBusy } from '../../../src/core/errors';
import type { ComputePort } from '../../../src/core/ports/compute';
import { memoryDeps, type MemoryStack } from '../../support/memory-deps';
import { finished, registeredVm } from '../../support/memory-fixtures';

/**
 * The thaw's persistence (workflows/backup/consistency.ts) on the memory adapters, at an ARM time scale where the
 * watchdog's time plus one client wait (120 s + 60 s) is 1.8 ms: a thaw that could not start (throttled, or
 * refused because a script is still ahead of it, or cut off with no answer) for far longer is sent on until it
 * runs, within the step budget.
 */
const POLICY = {
  name: 'fs',
  timeZone: 'UTC',
  schedule: { frequency: 'Daily', times: ['02:00'] },
  retention: { dailyDays: 7 },
  consistency: { mode: 'FileSystemConsistent', scriptTimeoutSeconds: 60, thawAfterSeconds: 120 },
};
const REFUSED_FOR_MS = 40;

/** Why a thaw does not run: the error to throw, or undefined to run it. */
type Refusal = (thaw: { timeoutSeconds: number; sinceFirstMs: number }) => unknown;
/** Refused with `error` for the first REFUSED_FOR_MS after the first thaw. */
const refusedAtFirst =
  (error: () => unknown): Refusal =>
  ({ sinceFirstMs }) =>
    sinceFirstMs < REFUSED_FOR_MS ? error() : undefined;

/** The guest's answers as the default scripts print them; each thaw refused as `refusal` says. */
function guestCompute(base: ComputePort, refusal: Refusal): ComputePort & { thaws: string[]; waits: number[] } {
  const out = Object.create(base) as ComputePort & { thaws: string[]; waits: number[] };
  out.thaws = [];
  out.waits = [];
  let firstThawAt: number | undefined;
  out.runCommand = async (vmId, osType, script, timeoutSeconds) => {
    const r = await base.runCommand(vmId, osType, script, timeoutSeconds);
    if (/fsfreeze -f/.test(script)) return { ...r, exitStatus: 0, stdout: 'vmbackup-frozen /data0' };
    firstThawAt ??= Date.now();
    out.waits.push(timeoutSeconds);
    const refused = refusal({ timeoutSeconds, sinceFirstMs: Date.now() - firstThawAt });
    if (refused !== undefined) {
      out.thaws.push('refused');
      throw refused;
    }
    out.thaws.push('ran');
    return { ...r, exitStatus: 0, stdout: 'vmbackup-thawed /data0' };
  };
  return out;
}

async function backupWith(refusal: Refusal, settings: Record<string, string> = {}): Promise<{ s: MemoryStack; thaws: string[]; waits: number[]; consistency: string; warnings: string[] }> {
  let compute: (ComputePort & { thaws: string[]; waits: number[] }) | undefined;
  const s = memoryDeps({
    settings: { VMBACKUP_ARM_TIME_SCALE: '100000', ...settings },
    deps: (d) => {
      compute = guestCompute(d.compute, refusal);
      return { compute };
    },
  });
  await s.deps.repos.policies.insert(POLICY as never);
  const vm = await registeredVm(s, 'vm1', { policyName: 'fs' });
  const job = await backupNow(s.deps, vm.itemKey);
  await s.drain();
  const done = await finished(s, job.jobId, 'Completed');
  return { s, thaws: compute!.thaws, waits: compute!.waits, consistency: String(done.consistency), warnings: done.warnings };
}

describe('the thaw is sent on while it could not start (memory adapters)', () => {
  it("throttled (429) for 20 times the watchdog's window: it waits ARM's Retry-After and runs once ARM lets it", async () => {
    const r = await backupWith(refusedAtFirst(() => armThrottled('ARM throttled POST .../runCommand', 5)));
    expect(r.thaws.at(-1)).toBe('ran');
    expect(r.thaws.filter((t) => t === 'refused').length).toBeGreaterThan(1);
    // Retry-After honoured: 40 ms of refusals at 5-10 ms apart, not a resend every 0.05 ms.
    expect(r.thaws.length).toBeLessThan(12);
    expect(r.consistency).toBe('FileSystemConsistent');
  });

  it('refused as busy (409, a script still ahead of it) past that window: sent on until it runs', async () => {
    const r = await backupWith(refusedAtFirst(() => runCommandBusy('Another Run Command script was still running')));
    expect(r.thaws.at(-1)).toBe('ran');
    expect(r.consistency).toBe('FileSystemConsistent');
    expect(r.warnings.join('\n')).not.toMatch(/did not come back/);
  });

  it('cut off with no answer (it may have run) past that window: sent on until one answers', async () => {
    const aborted = Object.assign(new Error('The operation was aborted.'), { name: 'AbortError' });
    const r = await backupWith(refusedAtFirst(() => aborted));
    expect(r.thaws.at(-1)).toBe('ran');
    expect(r.thaws.filter((t) => t === 'refused').length).toBeGreaterThan(1);
    expect(r.consistency).toBe('FileSystemConsistent');
  });

  // A 10 s step budget (5 s of thaws) so that code resending the same wait ends, with the thaw unanswered.
  it('never answered within the policy wait (a Run Command slow on this VM): each thaw waits twice as long, until one is answered', async () => {
    const aborted = Object.assign(new Error('The operation was aborted.'), { name: 'AbortError' });
    // This VM's thaw takes 300 s to answer: waited for less, its answer is lost.
    const r = await backupWith(({ timeoutSeconds }) => (timeoutSeconds < 300 ? aborted : undefined), { VMBACKUP_STEP_BUDGET_SECONDS: '10' });
    expect(r.waits).toEqual([60, 120, 240, 480]);
    expect(r.thaws.at(-1)).toBe('ran');
    expect(r.consistency).toBe('FileSystemConsistent');
  });
});
