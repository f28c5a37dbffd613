import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { QueueServiceClient } from '@azure/storage-queue';
import type { PipelinePolicy } from '@azure/core-rest-pipeline';
import { startAzurite, type AzuriteInstance } from '../src/local/azurite';
import { loadConfig, QUEUES } from '../src/core/config';
import { createAzureDeps, ensureResources } from '../src/core/adapters/azure/composition';
import type { Deps, Logger } from '../src/core/services/deps';
import { runStep } from '../src/core/services/steps';
import { snapshotStep } from '../src/core/services/backup-snapshot';
import { copyStep } from '../src/core/services/backup-copy';
import { finalizeStep } from '../src/core/services/backup-finalize';
import { restoreStep } from '../src/core/services/restore';
import { protectStep, registerStep } from '../src/core/services/protection';
import { startComputeEmulator, type ComputeEmulator, type ComputeEmulatorOptions } from '../src/emulator/server';
import { strictAzureLimitsPolicy } from '../src/local/strict-limits';
import { clientFaults, type ClientFaults } from './faults';

export const SUB = '00000000-0000-0000-0000-00000000bbbb';
const MAX_DEQUEUE = 5;

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export const STEPS: Record<string, (deps: Deps, msg: any) => Promise<void>> = {
  [QUEUES.snapshot]: snapshotStep,
  [QUEUES.copy]: copyStep,
  [QUEUES.finalize]: finalizeStep,
  [QUEUES.restore]: restoreStep,
  [QUEUES.register]: registerStep,
  [QUEUES.protect]: protectStep,
};

export interface DrainOptions {
  /** Run every delivery twice, concurrently, as an at-least-once queue may. */
  duplicate?: boolean;
  maxRounds?: number;
  beforeStep?: (queue: string, msg: { jobId: string }) => void | Promise<void>;
}

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
  drain(opts?: DrainOptions, deps?: Deps): Promise<number>;
  stop(): Promise<void>;
}

/**
 * The app's services on a private Azurite and compute emulator, every client carrying the seeded client-side
 * fault policy, with a queue consumer that behaves like the Functions host (dequeue count, last delivery,
 * redelivery after the visibility timeout). Used by the reliability tests and by the soak.
 */
export async function startReliabilityStack(o: { settings?: Record<string, string>; policies?: PipelinePolicy[]; emulator?: ComputeEmulatorOptions; log?: Logger } = {}): Promise<ReliabilityStack> {
  const settings = o.settings ?? {};
  const extraPolicies = o.policies ?? [];
  const azurite = await startAzurite();
  // A small LRO delay so operations are polled and can fail as operations (emulator LRO faults).
  const emulator = await startComputeEmulator({ lroDelayMs: 1, ...o.emulator });
  const dir = mkdtempSync(path.join(tmpdir(), 'vmb-rel-'));
  const caFile = path.join(dir, 'ca.pem');
  writeFileSync(caFile, emulator.caCert);
  const env: Record<string, string> = {
    VMBACKUP_SUBSCRIPTION_IDS: SUB,
    VMBACKUP_STORAGE: azurite.connectionString,
    VMBACKUP_ARM_ENDPOINT: emulator.armEndpoint,
    VMBACKUP_ARM_CA_FILE: caFile,
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
    policies: [...(faulty ? [faults.policy] : []), ...extraPolicies, strictAzureLimitsPolicy()],
  });
  const makeDeps = (): Deps => build(true);
  const deps = makeDeps();
  const observer = build(false);
  faults.clear();
  await ensureResources(deps as Parameters<typeof ensureResources>[0], Object.values(QUEUES));
  const qs = QueueServiceClient.fromConnectionString(azurite.connectionString);

  async function deliver(d: Deps, queue: string, step: (deps: Deps, msg: { jobId: string }) => Promise<void>, text: string, dequeueCount: number, opts: DrainOptions): Promise<boolean> {
    const msg = JSON.parse(Buffer.from(text, 'base64').toString('utf8')) as { jobId: string };
    try {
      await opts.beforeStep?.(queue, msg);
      await runStep(d, msg.jobId, { dequeueCount, maxDequeueCount: MAX_DEQUEUE }, () => step(d, msg));
      return true;
    } catch {
      return false;
    }
  }

  async function drain(opts: DrainOptions = {}, d: Deps = deps): Promise<number> {
    let handled = 0;
    for (let round = 0; round < (opts.maxRounds ?? 2000); round++) {
      let any = false;
      for (const [queue, step] of Object.entries(STEPS)) {
        const q = qs.getQueueClient(queue);
        const got = await q.receiveMessages({ numberOfMessages: 16, visibilityTimeout: 1 });
        await Promise.all(got.receivedMessageItems.map(async (m) => {
          any = true;
          const runs = opts.duplicate ? 2 : 1;
          const ok = await Promise.all(Array.from({ length: runs }, () => deliver(d, queue, step, m.messageText, m.dequeueCount, opts)));
          // One successful delivery is enough; otherwise the message reappears after its visibility timeout.
          if (ok.some(Boolean)) {
            await q.deleteMessage(m.messageId, m.popReceipt).catch(() => undefined);
            handled++;
          }
        }));
      }
      if (!any) {
        const props = await Promise.all(Object.keys(STEPS).map((n) => qs.getQueueClient(n).getProperties()));
        if (props.every((p) => (p.approximateMessagesCount ?? 0) === 0)) return handled;
        await new Promise((r) => setTimeout(r, 250));
      }
    }
    throw new Error('queues did not drain');
  }

  return {
    azurite, emulator, deps, makeDeps, observer, env, faults, drain,
    async stop() {
      await emulator.close();
      await azurite.stop();
    },
  };
}
