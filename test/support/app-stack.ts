import { inject } from 'vitest';
import type { PipelinePolicy } from '@azure/core-rest-pipeline';
import type { Deps } from '../../src/core/jobs/deps';
import type { ComputeEmulator, ComputeEmulatorOptions } from '../../src/emulator/server';
import { SUB } from './emulator';
import { strictAzureLimitsPolicy } from '../../src/local/strict-limits';
import { azuriteAsAzureShim } from '../../src/local/azurite-shim';
import { CORE_STEPS, type DrainOptions } from '../../src/local/queue-drain';
import { startAppServices } from '../../src/local/app-stack';
import { servesAccountPool, type StorageAccount } from '../../src/local/azurite-accounts';

export interface AppStack {
  /** The stack's storage account (on the run's shared Azurite, or a private one). */
  azurite: StorageAccount;
  emulator: ComputeEmulator;
  deps: Deps;
  env: Record<string, string>;
  /** Delivers queued step messages until every queue is empty (or a step keeps failing). */
  drain(opts?: DrainOptions): Promise<number>;
  stop(): Promise<void>;
}

/**
 * The app's services on an account of the run's shared Azurite (test/support/global-setup.ts; a private
 * Azurite when the run's Azurite has no account pool) and a compute emulator, with a queue consumer that behaves
 * like the Functions host for queue triggers, for integration tests below the HTTP layer. The local Functions
 * host is tested on its own.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function startAppStack(
  settings: Record<string, string> = {},
  policies: PipelinePolicy[] = [],
  extraSteps: Record<string, (deps: Deps, msg: any) => Promise<void>> = {},
  emulatorOptions: ComputeEmulatorOptions = {},
): Promise<AppStack> {
  const services = await startAppServices({
    subscriptionId: SUB,
    sharedAzurite: servesAccountPool() ? inject('azurite') : undefined,
    emulator: { lroDelayMs: 0, ...emulatorOptions },
    // Only the tests that need more queues poll them: every polled queue costs each drain round a request.
    steps: { ...CORE_STEPS, ...extraSteps },
    settings: {
      VMBACKUP_SEGMENT_SIZE_MIB: '64',
      VMBACKUP_SHARD_SIZE_MIB: '48',
      VMBACKUP_DIFF_WINDOW_MIB: '32',
      VMBACKUP_COPY_CONCURRENCY: '8',
      VMBACKUP_LOCK_TTL_SECONDS: '60',
      ...settings,
    },
  });
  // Every client the app builds carries the strict Azure-limits policy (what Azurite lets through, this does not)
  // and the shim that pages and throttles Azurite's page blobs as Azure does. A test's own policy of the same
  // name (a shim with another profile, say) comes first and replaces the default.
  const all = [...policies, strictAzureLimitsPolicy(), azuriteAsAzureShim()];
  const deps = services.makeDeps(all.filter((p, i) => all.findIndex((q) => q.name === p.name) === i));
  await services.ensure(deps);
  return {
    azurite: services.storage,
    emulator: services.emulator,
    deps,
    env: services.env,
    drain: (opts = {}) => services.drain(deps, opts),
    stop: () => services.stop(),
  };
}
