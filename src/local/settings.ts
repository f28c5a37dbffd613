import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

/** Where a local run finds its storage and compute: Azurite and the compute emulator. */
export interface LocalEndpoints {
  storage: string;
  armEndpoint: string;
  caFile: string;
  subscriptionIds: string;
  /** The emulator's ARM time scale, so the app's Run Command waits run on the same compressed time. */
  armTimeScale?: number;
}

/** The endpoints of a private Azurite and compute emulator; the emulator's CA goes into a fresh temp folder. */
export function privateEndpoints(
  azurite: { connectionString: string },
  emulator: { armEndpoint: string; caCert: string; fidelity?: { timeScale: number } },
  subscriptionIds: string,
  prefix = 'vmb-',
): LocalEndpoints {
  const caFile = path.join(mkdtempSync(path.join(tmpdir(), prefix)), 'ca.pem');
  writeFileSync(caFile, emulator.caCert);
  return { storage: azurite.connectionString, armEndpoint: emulator.armEndpoint, caFile, subscriptionIds, armTimeScale: emulator.fidelity?.timeScale };
}

/** The app settings every local run of the app shares (npm start, the tests' hosts, child host processes). */
export function localAppSettings(e: LocalEndpoints): Record<string, string> {
  return {
    FUNCTIONS_WORKER_RUNTIME: 'node',
    AzureWebJobsStorage: e.storage,
    VMBACKUP_STORAGE: e.storage,
    VMBACKUP_SUBSCRIPTION_IDS: e.subscriptionIds,
    VMBACKUP_ARM_ENDPOINT: e.armEndpoint,
    VMBACKUP_ARM_CA_FILE: e.caFile,
    ...(e.armTimeScale ? { VMBACKUP_ARM_TIME_SCALE: String(e.armTimeScale) } : {}),
    // Mirrors host.json's queues.maxDequeueCount, as the app's settings require.
    VMBACKUP_MAX_DEQUEUE_COUNT: '5',
  };
}

/** Timers a test fires through the host itself: the schedules only need to be valid and far away. */
export const DORMANT_TIMERS: Record<string, string> = {
  VMBACKUP_SCHEDULER_CRON: '0 0 0 1 1 *',
  VMBACKUP_DISCOVERY_CRON: '0 0 0 1 1 *',
  VMBACKUP_RETENTION_CRON: '0 0 0 1 1 *',
  VMBACKUP_RECONCILE_CRON: '0 0 0 1 1 *',
};
