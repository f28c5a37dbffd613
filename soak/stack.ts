import { QueueServiceClient } from '@azure/storage-queue';
import type { PipelinePolicy } from '@azure/core-rest-pipeline';
import { startAzurite, type AzuriteInstance } from '../src/local/azurite';
import { loadConfig } from '../src/core/config';
import { createAzureDeps, ensureResources } from '../src/core/composition';
import type { Deps } from '../src/core/jobs/deps';
import { startComputeEmulator, type ComputeEmulator, type ComputeEmulatorOptions } from '../src/emulator/server';
import { strictAzureLimitsPolicy } from '../src/local/strict-limits';
import { azuriteAsAzureShim, type AzureShimPolicy } from '../src/local/azurite-shim';
import { emulatorDataPlaneOptions, type AzureProfile } from '../src/local/azure-profile';
import { localAppSettings, privateEndpoints } from '../src/local/settings';
import { CORE_STEPS, drainQueues, type DrainOptions } from '../src/local/queue-drain';
import { clientFaults, type ClientFaults } from './faults';
import type { Logger } from '../src/core/ports/logger';
import { KINDS } from '../src/core/workflows/kinds';

export const SUB = '00000000-0000-0000-0000-00000000bbbb';
const MAX_DEQUEUE = 5;

export const STEPS = CORE_STEPS;
export type { DrainOptions };

export interface ReliabilityStack {
  azurite: AzuriteInstance;
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
export async function startReliabilityStack(o: { settings?: Record<string, string>; policies?: PipelinePolicy[]; emulator?: ComputeEmulatorOptions; log?: Logger; profile?: AzureProfile } = {}): Promise<ReliabilityStack> {
  const settings = o.settings ?? {};
  const extraPolicies = o.policies ?? [];
  const azurite = await startAzurite();
  // A small LRO delay so operations are polled and can fail as operations (emulator LRO faults).
  // A profile sets the data plane on both sides: the emulator's options and the shim in front of Azurite.
  const emulator = await startComputeEmulator({ lroDelayMs: 1, ...(o.profile ? { dataPlane: emulatorDataPlaneOptions(o.profile) } : {}), ...o.emulator });
  const shim = o.profile ? azuriteAsAzureShim(o.profile) : undefined;
  const env: Record<string, string> = {
    ...localAppSettings(privateEndpoints(azurite, emulator, SUB, 'vmb-rel-')),
    // Few segments per disk: a cycle costs few queue round trips, so a long soak stays quick.
    VMBACKUP_SEGMENT_SIZE_MIB: '16',
    VMBACKUP_SHARD_SIZE_MIB: '16',
    VMBACKUP_DIFF_WINDOW_MIB: '4',
    VMBACKUP_COPY_CONCURRENCY: '4',
    VMBACKUP_LOCK_TTL_SECONDS: '60',
    VMBACKUP_SAS_DURATION_SECONDS: '300',
    ...settings,
  };
  const faults = clientFaults();
  const build = (faulty: boolean): Deps => createAzureDeps(loadConfig(env), {
    clock: () => new Date(emulator.clock.now()),
    log: o.log,
    // The checks' observer reads rows, not page ranges: it goes around the shim so its reads do not spend the caps.
    policies: [...(faulty ? [faults.policy] : []), ...extraPolicies, strictAzureLimitsPolicy(), ...(faulty && shim ? [shim] : [])],
  });
  const makeDeps = (): Deps => build(true);
  const deps = makeDeps();
  const observer = build(false);
  faults.clear();
  await ensureResources(deps as Parameters<typeof ensureResources>[0], [...KINDS.queues]);
  const qs = QueueServiceClient.fromConnectionString(azurite.connectionString);

  const drain = (opts: DrainOptions = {}, d: Deps = deps): Promise<number> => drainQueues(qs, STEPS, d, { maxRounds: 2000, ...opts, maxDequeueCount: MAX_DEQUEUE });

  return {
    azurite, emulator, deps, makeDeps, observer, env, faults, shim, drain,
    async stop() {
      await emulator.close();
      await azurite.stop();
    },
  };
}
