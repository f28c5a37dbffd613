import { QueueServiceClient } from '@azure/storage-queue';
import type { PipelinePolicy } from '@azure/core-rest-pipeline';
import { startAzurite, type AzuriteInstance } from '../../src/local/azurite';
import { loadConfig, QUEUES } from '../../src/core/config';
import { createAzureDeps, ensureResources } from '../../src/core/composition';
import type { Deps } from '../../src/core/jobs/deps';
import type { ComputeEmulator, ComputeEmulatorOptions } from '../../src/emulator/server';
import { withEmulator, SUB } from './emulator';
import { strictAzureLimitsPolicy } from '../../src/local/strict-limits';
import { azuriteAsAzureShim } from '../../src/local/azurite-shim';
import { localAppSettings, privateEndpoints } from '../../src/local/settings';
import { CORE_STEPS, drainQueues, type DrainOptions } from '../../src/local/queue-drain';
import { KINDS } from '../../src/core/workflows/kinds';

export interface AppStack {
  azurite: AzuriteInstance;
  emulator: ComputeEmulator;
  deps: Deps;
  env: Record<string, string>;
  /** Delivers queued step messages until every queue is empty (or a step keeps failing). */
  drain(opts?: DrainOptions): Promise<number>;
  stop(): Promise<void>;
}


/**
 * The app's services on a private Azurite and a compute emulator, with a queue consumer that behaves like the
 * Functions host for queue triggers (base64 JSON, visibility timeout, dequeue count, last-delivery failure),
 * for integration tests below the HTTP layer. The local Functions host is tested on its own.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function startAppStack(settings: Record<string, string> = {}, policies: PipelinePolicy[] = [], extraSteps: Record<string, (deps: Deps, msg: any) => Promise<void>> = {}, emulatorOptions: ComputeEmulatorOptions = {}): Promise<AppStack> {
  // Only the tests that need more queues poll them: every polled queue costs each drain round a request.
  const steps = { ...CORE_STEPS, ...extraSteps };
  const azurite = await startAzurite();
  const emulator = await withEmulator({ lroDelayMs: 0, ...emulatorOptions });
  const env: Record<string, string> = {
    ...localAppSettings(privateEndpoints(azurite, emulator, SUB)),
    VMBACKUP_SEGMENT_SIZE_MIB: '64',
    VMBACKUP_SHARD_SIZE_MIB: '48',
    VMBACKUP_DIFF_WINDOW_MIB: '32',
    VMBACKUP_COPY_CONCURRENCY: '8',
    VMBACKUP_LOCK_TTL_SECONDS: '60',
    ...settings,
  };
  // Every client the app builds carries the strict Azure-limits policy (what Azurite lets through, this does not)
  // and the shim that pages and throttles Azurite's page blobs as Azure does. A test's own policy of the same
  // name (a shim with another profile, say) comes first and replaces the default.
  const all = [...policies, strictAzureLimitsPolicy(), azuriteAsAzureShim()];
  const deps = createAzureDeps(loadConfig(env), { clock: () => new Date(emulator.clock.now()), policies: all.filter((p, i) => all.findIndex((q) => q.name === p.name) === i) });
  await ensureResources(deps, [...KINDS.queues]);
  const qs = QueueServiceClient.fromConnectionString(azurite.connectionString);

  const drain = (opts: DrainOptions = {}): Promise<number> => drainQueues(qs, steps, deps, { ...opts, maxDequeueCount: 5 });

  return {
    azurite, emulator, deps, env, drain,
    async stop() {
      await emulator.close();
      await azurite.stop();
    },
  };
}
