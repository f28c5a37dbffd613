import type { PipelinePolicy } from '@azure/core-rest-pipeline';
import type { Deps } from '../src/core/jobs/deps';
import type { ComputeEmulator, ComputeEmulatorOptions } from '../src/emulator/server';
import { strictAzureLimitsPolicy } from '../src/local/strict-limits';
import { azuriteAsAzureShim, type AzureShimPolicy } from '../src/local/azurite-shim';
import { emulatorDataPlaneOptions, type AzureProfile } from '../src/local/azure-profile';
import { CORE_STEPS, type DrainOptions } from '../src/local/queue-drain';
import { startAppServices } from '../src/local/app-stack';
import type { StorageAccount } from '../src/local/azurite-accounts';
import { clientFaults, type ClientFaults } from './faults';
import type { Logger } from '../src/core/ports/logger';

export const SUB = '00000000-0000-0000-0000-00000000bbbb';

export const STEPS = CORE_STEPS;
export type { DrainOptions };

export interface ReliabilityStack {
  /** The stack's private Azurite (its development account). */
  azurite: StorageAccount;
  emulator: ComputeEmulator;
  deps: Deps;
  /** A second, independent set of clients on the same storage and emulator (a second app instance). */
  makeDeps(): Deps;
  /** Clients without injected faults: what the checks read through. */
  observer: Deps;
  env: Record<string, string>;
  faults: ClientFaults;
  /** With a profile: the backup account's paging and caps shim, one per stack (the caps are the server's). */
  shim?: AzureShimPolicy;
  drain(opts?: DrainOptions, deps?: Deps): Promise<number>;
  stop(): Promise<void>;
}

/**
 * The app's services on a private Azurite and compute emulator, every client carrying the seeded client-side
 * fault policy, with a queue consumer that behaves like the Functions host (dequeue count, last delivery,
 * redelivery after the visibility timeout). Used by the reliability tests and by the soak.
 */
export async function startReliabilityStack(
  o: { settings?: Record<string, string>; policies?: PipelinePolicy[]; emulator?: ComputeEmulatorOptions; log?: Logger; profile?: AzureProfile } = {},
): Promise<ReliabilityStack> {
  const extraPolicies = o.policies ?? [];
  const services = await startAppServices({
    subscriptionId: SUB,
    // A private Azurite: the seeded faults and the checks' table scans see this stack's rows only.
    // A small LRO delay so operations are polled and can fail as operations (emulator LRO faults).
    // A profile sets the data plane on both sides: the emulator's options and the shim in front of Azurite.
    emulator: { lroDelayMs: 1, ...(o.profile ? { dataPlane: emulatorDataPlaneOptions(o.profile) } : {}), ...o.emulator },
    caPrefix: 'vmb-rel-',
    log: o.log,
    steps: STEPS,
    drain: { maxRounds: 2000 },
    settings: {
      // Few segments per disk: a cycle costs few queue round trips, so a long soak stays quick.
      VMBACKUP_SEGMENT_SIZE_MIB: '16',
      VMBACKUP_SHARD_SIZE_MIB: '16',
      VMBACKUP_DIFF_WINDOW_MIB: '4',
      VMBACKUP_COPY_CONCURRENCY: '4',
      VMBACKUP_LOCK_TTL_SECONDS: '60',
      VMBACKUP_SAS_DURATION_SECONDS: '300',
      ...o.settings,
    },
  });
  const shim = o.profile ? azuriteAsAzureShim(o.profile) : undefined;
  const faults = clientFaults();
  // The checks' observer reads rows, not page ranges: it goes around the shim so its reads do not spend the caps.
  const build = (faulty: boolean) => services.makeDeps([...(faulty ? [faults.policy] : []), ...extraPolicies, strictAzureLimitsPolicy(), ...(faulty && shim ? [shim] : [])]);
  const makeDeps = (): Deps => build(true);
  const deps = build(true);
  const observer = build(false);
  faults.clear();
  await services.ensure(deps);
  return {
    azurite: services.storage,
    emulator: services.emulator,
    deps,
    makeDeps,
    observer,
    env: services.env,
    faults,
    shim,
    drain: (opts: DrainOptions = {}, d: Deps = deps) => services.drain(d, opts),
    stop: () => services.stop(),
  };
}
