/** Where a local run finds its storage and compute: Azurite and the compute emulator. */
export interface LocalEndpoints {
  storage: string;
  armEndpoint: string;
  caFile: string;
  subscriptionIds: string;
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
