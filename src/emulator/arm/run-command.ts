import { ArmError } from './errors';
import type { ArmFidelityOptions, ArmFidelityStats } from './fidelity';
import type { EmulatorState, RunCommandRecord, VmRecord } from './state';
import type { GuestFileSystems, ScriptOutcome } from '../guest-fs';

// biome-ignore lint/suspicious/noExplicitAny: request and response bodies are JSON of any shape
type Body = Record<string, any>;

interface FaultRule {
  kind: 'never' | 'slow';
  extraMs: number;
  left: number;
  vm?: RegExp;
}

export interface InstanceViewStatus {
  code: string;
  level: 'Info';
  displayStatus: string;
  message: string;
}

/**
 * The action Run Command (POST .../runCommand) as Azure runs it
 * (azure-compute-docs articles/virtual-machines/linux/run-command.md, Restrictions):
 * - "The minimum time to run a script is about 20 seconds": the LRO completes no earlier than runCommandMinMs.
 * - "You can run one script at a time": a second one while one runs gets 409 Conflict, "Run command extension
 *   execution is in progress. Please wait for completion before invoking a run command." (the answer quoted in
 *   MicrosoftDocs/azure-docs#43356, Azure/azure-cli#19137 and #32305).
 * - "You can't cancel a running script": the script runs to its end on a timer of its own, whether or not the
 *   client keeps polling, and its effect on the guest happens.
 * - "the scripts might run successfully but not return the results": fault mode `neverAnswer`, the LRO stays
 *   InProgress for ever while the script still runs (counted as never answered).
 */
export class RunCommandEngine {
  private rules: FaultRule[] = [];
  private running = new Map<string, RunCommandRecord>();

  constructor(
    private readonly state: EmulatorState,
    private readonly guest: GuestFileSystems,
    private readonly fidelity: ArmFidelityOptions,
    private readonly stats: ArmFidelityStats,
    private readonly clock: () => number,
  ) {}

  /** The next `times` run commands (on VMs whose id matches) run, but their result never comes back. */
  neverAnswer(o: { times?: number; vm?: RegExp } = {}): void {
    this.rules.push({ kind: 'never', extraMs: 0, left: o.times ?? 1, vm: o.vm });
  }

  /** The next `times` run commands take `extraMs` longer (a first-time extension install, a busy guest). */
  slow(o: { extraMs: number; times?: number; vm?: RegExp }): void {
    this.rules.push({ kind: 'slow', extraMs: o.extraMs, left: o.times ?? 1, vm: o.vm });
  }

  clearFaults(): void {
    this.rules = [];
  }

  /** Starts the script; returns when its result is due (Infinity: never) and how to build it. */
  start(vm: VmRecord, body: Body): { doneInMs: number; record: RunCommandRecord; result: () => { value: InstanceViewStatus[] } } {
    if (vm.powerState !== 'running') throw new ArmError(409, 'OperationNotAllowed', `Cannot run a command on VM '${vm.name}' because it is ${vm.powerState}.`);
    if (!vm.agentReady) throw new ArmError(409, 'VMAgentStatusCommunicationError', `VM '${vm.name}' has not reported status for the VM agent.`);
    const key = vm.id.toLowerCase();
    if (this.running.has(key)) {
      this.stats.runCommandsRefusedBusy++;
      throw new ArmError(409, 'Conflict', 'Run command extension execution is in progress. Please wait for completion before invoking a run command.');
    }
    const script = Array.isArray(body.script) ? body.script.map(String) : [];
    const record: RunCommandRecord = { vmId: vm.id, commandId: String(body.commandId ?? ''), script, at: this.clock() };
    this.state.runCommands.push(record);
    let never = false;
    let extra = 0;
    for (const r of this.rules) {
      if (r.left <= 0 || (r.vm && !r.vm.test(vm.id))) continue;
      r.left--;
      if (r.kind === 'never') never = true;
      else extra += r.extraMs;
    }
    const runMs = this.fidelity.runCommandMinMs + extra;
    this.running.set(key, record);
    let outcome: ScriptOutcome | undefined;
    const finish = (): void => {
      if (outcome) return;
      outcome = this.guest.run(vm, script.join('\n'));
      // A failure a test forces on this VM wins over the guest model's own outcome.
      if (!vm.runCommandResult.succeeded) outcome = { exitStatus: outcome.exitStatus || 1, stdout: outcome.stdout, stderr: vm.runCommandResult.output };
      record.finishedAt = this.clock();
      record.exitStatus = outcome.exitStatus;
      this.running.delete(key);
    };
    // The script's own timer: not tied to any client request, so an abort cannot stop it.
    const t = setTimeout(finish, runMs);
    t.unref?.();
    if (never) {
      record.neverAnswered = true;
      this.stats.runCommandsNeverAnswered++;
    }
    return {
      doneInMs: never ? Number.POSITIVE_INFINITY : runMs,
      record,
      result: () => {
        finish();
        record.collected = true;
        return { value: resultStatuses(vm.osType, outcome!) };
      },
    };
  }

  /** Scripts started and not yet ended (each VM runs one at a time): a freeze here still acts on its guest. */
  inFlight(): RunCommandRecord[] {
    return [...this.running.values()];
  }

  /** Scripts that ran to their end while nobody collected the result: the client aborted (or never got it). */
  uncollected(): RunCommandRecord[] {
    return this.state.runCommands.filter((r) => r.finishedAt !== undefined && !r.collected);
  }
}

/**
 * What the LRO result says. Linux keeps `ProvisioningState/succeeded`, level Info, even for a non-zero exit; the
 * exit status shows only in the message text (Azure/azure-cli#14425, #25948). Windows answers
 * `ComponentStatus/StdOut/succeeded` and `ComponentStatus/StdErr/succeeded`, also for `Exit 1`
 * (MicrosoftDocs/azure-docs-cli#4542, Azure/azure-cli#29750).
 */
export function resultStatuses(osType: 'Linux' | 'Windows', o: ScriptOutcome): InstanceViewStatus[] {
  if (osType === 'Windows') {
    return [
      { code: 'ComponentStatus/StdOut/succeeded', level: 'Info', displayStatus: 'Provisioning succeeded', message: o.stdout },
      { code: 'ComponentStatus/StdErr/succeeded', level: 'Info', displayStatus: 'Provisioning succeeded', message: o.stderr },
    ];
  }
  const head = o.exitStatus === 0 ? 'Enable succeeded: ' : `Enable failed: failed to execute command: command terminated with exit status=${o.exitStatus}`;
  return [{ code: 'ProvisioningState/succeeded', level: 'Info', displayStatus: 'Provisioning succeeded', message: `${head}\n[stdout]\n${o.stdout}\n[stderr]\n${o.stderr}\n` }];
}
