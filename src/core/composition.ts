import { readFileSync } from 'node:fs';
import { BlobServiceClient, type StoragePipelineOptions } from '@azure/storage-blob';
import { DefaultAzureCredential } from '@azure/identity';
import type { AccessToken, TokenCredential } from '@azure/core-auth';
import type { PipelinePolicy } from '@azure/core-rest-pipeline';
import type { Config } from './config';
import type { Deps } from './jobs/deps';
import { createRepos } from './store/repos';
import { BlobBackupStore } from './adapters/azure/blob-backup-store';
import { SasDataPlane } from './adapters/azure/sas-data-plane';
import { AzureTableFactory } from './adapters/azure/tables';
import { AzureQueueFactory } from './adapters/azure/queues';
import { ArmComputeAdapter } from './adapters/azure/compute';
import { ArmProvisioningAdapter } from './adapters/azure/provisioning';
import { attachPolicy } from './adapters/azure/attach-policy';
import { packageStoreFactory } from './adapters/azure/blob-package-store';
import { type Logger, silentLogger } from './ports/logger';
import { KINDS } from './workflows/kinds';
import type { Telemetry } from './ports/telemetry';
import { startAzureMonitor } from './adapters/otel/azure-monitor';
import { WebhookChannel } from './adapters/webhook/channel';
import { withOps } from './ops/wire';

export interface CompositionOptions {
  credential?: TokenCredential;
  /** Extra pipeline policies for every client (tests add the strict Azure-limits policy here). */
  policies?: PipelinePolicy[];
  log?: Logger;
  clock?: () => Date;
  /** Telemetry to use instead of the one the config picks (tests pass in-memory exporters). */
  telemetry?: Telemetry;
}

/** A fixed token for the local compute emulator, which checks that one is sent, not what it says. */
class LocalEmulatorCredential implements TokenCredential {
  async getToken(): Promise<AccessToken> {
    return { token: 'local-emulator-token', expiresOnTimestamp: Date.now() + 3_600_000 };
  }
}

function isLoopback(url: string): boolean {
  const host = new URL(url).hostname;
  return host === 'localhost' || host === '::1' || host === '[::1]' || host.startsWith('127.');
}

/**
 * The composition root: the only place that picks adapters. Local stack: connection strings and the compute
 * emulator's endpoint and CA; Azure: the managed identity (DefaultAzureCredential) and public endpoints.
 */
export function createAzureDeps(config: Config, options: CompositionOptions = {}): Deps & { store: BlobBackupStore } {
  const local = !!config.arm.endpoint && isLoopback(config.arm.endpoint);
  const credential = options.credential ?? (local ? new LocalEmulatorCredential() : new DefaultAzureCredential());
  const additionalPolicies = (options.policies ?? []).map((policy) => ({ policy, position: 'perCall' as const }));
  const storageOptions: StoragePipelineOptions = {};

  const blobService =
    config.storage.kind === 'connectionString'
      ? BlobServiceClient.fromConnectionString(config.storage.connectionString, storageOptions)
      : new BlobServiceClient(config.storage.blobUrl, credential, storageOptions);
  for (const p of options.policies ?? []) attachPolicy(blobService, p);
  // Page reads and writes are retried by the engine's pacer, not the SDK (blob-backup-store.ts).
  const pageOptions: StoragePipelineOptions = { ...storageOptions, retryOptions: { maxTries: 1 } };
  const pageService =
    config.storage.kind === 'connectionString'
      ? BlobServiceClient.fromConnectionString(config.storage.connectionString, pageOptions)
      : new BlobServiceClient(config.storage.blobUrl, credential, pageOptions);
  for (const p of options.policies ?? []) attachPolicy(pageService, p);
  const tables =
    config.storage.kind === 'connectionString'
      ? AzureTableFactory.fromConnectionString(config.storage.connectionString, { additionalPolicies })
      : AzureTableFactory.fromEndpoint(config.storage.tableUrl, credential, { additionalPolicies });
  const queues =
    config.storage.kind === 'connectionString'
      ? AzureQueueFactory.fromConnectionString(config.storage.connectionString, { policies: options.policies })
      : AzureQueueFactory.fromEndpoint(config.storage.queueUrl, credential, { policies: options.policies });

  const ca = config.arm.caFile ? readFileSync(config.arm.caFile, 'utf8') : undefined;
  const compute = new ArmComputeAdapter({
    credential,
    subscriptionIds: config.subscriptionIds,
    endpoint: config.arm.endpoint,
    clientOptions: { ...(ca ? { tlsOptions: { ca } } : {}), additionalPolicies },
    ...(config.arm.timeScale !== 1 ? { timeScale: config.arm.timeScale } : {}),
    snapshotsPerDisk: config.snapshotsPerDisk,
  });

  // Application Insights when its connection string is set (the platform sets it when one is attached).
  const telemetry = options.telemetry ?? (config.telemetry.connectionString ? startAzureMonitor(config.telemetry.connectionString) : undefined);
  const channel = config.alerts.webhookUrl ? new WebhookChannel(config.alerts.webhookUrl) : undefined;
  return withOps(
    {
      config,
      repos: createRepos(tables, config.tablePrefix),
      queues,
      compute,
      provisioning: new ArmProvisioningAdapter({ credential, endpoint: config.arm.endpoint, clientOptions: { ...(ca ? { tlsOptions: { ca } } : {}), additionalPolicies } }),
      // The app's identity also reads and writes Entra-only disks (dataAccessAuthMode AzureActiveDirectory).
      dataPlane: new SasDataPlane(options.policies, credential),
      store: new BlobBackupStore(blobService.getContainerClient(config.backupContainer), pageService.getContainerClient(config.backupContainer)),
      clock: options.clock ?? (() => new Date()),
      log: options.log ?? silentLogger,
      packages: packageStoreFactory(blobService),
      kinds: KINDS,
    },
    { telemetry, channel },
  );
}

/** Creates what the app needs to exist: container, tables, queues. Idempotent; run at start. */
export async function ensureResources(deps: Deps & { store: BlobBackupStore }, queueNames: string[]): Promise<void> {
  await deps.store.ensureContainer();
  await deps.repos.ensure();
  await Promise.all(queueNames.map((q) => deps.queues.queue(q).ensure()));
}
