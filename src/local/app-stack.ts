import { QueueServiceClient } from '@azure/storage-queue';
import type { PipelinePolicy } from '@azure/core-rest-pipeline';
import { DEV_ACCOUNT, startAzurite } from './azurite';
import { claimAccount, emptyAccount, type StorageAccount } from './azurite-accounts';
import { loadConfig, type Config } from '../core/config';
import { createAzureDeps, ensureResources } from '../core/composition';
import type { Deps } from '../core/jobs/deps';
import type { BlobBackupStore } from '../core/adapters/azure/blob-backup-store';
import type { Logger } from '../core/ports/logger';
import { KINDS } from '../core/workflows/kinds';
import { startComputeEmulator, type ComputeEmulator, type ComputeEmulatorOptions } from '../emulator/server';
import { localAppSettings, privateEndpoints } from './settings';
import { drainQueues, type DrainOptions, type Step } from './queue-drain';

export interface AppServicesOptions {
  subscriptionId: string;
  /**
   * A running Azurite to share (its development-account endpoints): the stack takes an account of its pool
   * (see azurite-accounts.ts) and empties it at stop. Without it the stack starts a private in-memory Azurite.
   */
  sharedAzurite?: { blobEndpoint: string; queueEndpoint: string; tableEndpoint: string };
  emulator?: ComputeEmulatorOptions;
  /** App settings over the local ones (segment sizes, lock TTL...). */
  settings?: Record<string, string>;
  /** The queue steps the drain delivers: each polled queue costs every drain round a request. */
  steps: Record<string, Step>;
  /** Prefix of the temp folder holding the emulator's CA. */
  caPrefix?: string;
  log?: Logger;
  /** Defaults for every drain (maxRounds...). */
  drain?: DrainOptions;
}

/** The app as one local process runs it: its settings and a maker of its clients. */
export interface LocalApp {
  env: Record<string, string>;
  config: Config;
  /** A new, independent set of the app's clients (another app instance), each carrying these policies. */
  makeDeps(policies: PipelinePolicy[]): Deps & { store: BlobBackupStore };
}

/**
 * The app's settings and clients for an Azurite account and a compute emulator, wherever they run: in this
 * process (startAppServices) or in processes of their own (the bench, which measures the app's CPU apart).
 */
export function localApp(
  storage: { connectionString: string },
  emulator: { armEndpoint: string; caCert: string; fidelity?: { timeScale: number } },
  o: { subscriptionId: string; settings?: Record<string, string>; caPrefix?: string; log?: Logger; clock?: () => Date },
): LocalApp {
  const env: Record<string, string> = {
    ...localAppSettings(privateEndpoints(storage, emulator, o.subscriptionId, o.caPrefix)),
    ...o.settings,
  };
  const config = loadConfig(env);
  return { env, config, makeDeps: (policies) => createAzureDeps(config, { clock: o.clock, log: o.log, policies }) };
}

export interface AppServices {
  storage: StorageAccount;
  emulator: ComputeEmulator;
  env: Record<string, string>;
  /** A new, independent set of the app's clients (another app instance), each carrying these policies. */
  makeDeps(policies: PipelinePolicy[]): Deps & { store: BlobBackupStore };
  /** Creates the container, tables and queues through the given deps (run once, before the first request). */
  ensure(deps: Deps & { store: BlobBackupStore }): Promise<void>;
  /** Delivers queued step messages with these deps until every queue is empty, as the Functions host would. */
  drain(deps: Deps, opts?: DrainOptions): Promise<number>;
  stop(): Promise<void>;
}

/**
 * The one way the tests and the soak assemble the app's services locally (the bench, whose emulator runs in a
 * process of its own, builds the app's clients with localApp): Azurite
 * storage (an account on a shared Azurite, or a private one), the compute emulator in-process, the local app
 * settings, clients on the emulator's clock, and a queue drain that behaves like the Functions host for queue
 * triggers (base64 JSON, visibility timeout, dequeue count, last-delivery failure). Callers choose the client
 * policies (strict limits, the Azurite shim, seeded faults), which is what differs between them.
 */
export async function startAppServices(o: AppServicesOptions): Promise<AppServices> {
  const privateAzurite = o.sharedAzurite ? undefined : await startAzurite();
  const storage: StorageAccount = o.sharedAzurite ? claimAccount(o.sharedAzurite) : { name: DEV_ACCOUNT, ...privateAzurite! };
  const emulator = await startComputeEmulator(o.emulator ?? {});
  const { env, config, makeDeps } = localApp(storage, emulator, { ...o, clock: () => new Date(emulator.clock.now()) });
  const qs = QueueServiceClient.fromConnectionString(storage.connectionString);
  return {
    storage,
    emulator,
    env,
    makeDeps,
    ensure: (deps) => ensureResources(deps, [...KINDS.queues]),
    drain: (deps, opts = {}) => drainQueues(qs, o.steps, deps, { ...o.drain, ...opts, maxDequeueCount: config.maxDequeueCount }),
    async stop() {
      await emulator.close();
      if (privateAzurite) await privateAzurite.stop();
      else await emptyAccount(storage);
    },
  };
}
