import { startAzurite, type AzuriteInstance } from '../../src/local/azurite';
import { startHost, type RunningHost } from '../../src/local/host/host';
import type { ComputeEmulator } from '../../src/emulator/server';
import { withEmulator, SUB } from './emulator';
import { createRepos } from '../../src/core/store/repos';
import { AzureTableFactory } from '../../src/core/adapters/azure/tables';
import { DAY_MS } from '../../src/core/domain/time';
import { DORMANT_TIMERS, localAppSettings, privateEndpoints } from '../../src/local/settings';

/** The keys of the tests' hosts: fixed, and valid only against a local host. */
export const TEST_KEYS = { FUNCTIONS_MASTER_KEY: 'master-key-for-tests-only', FUNCTIONS_FUNCTION_KEY: 'function-key-for-tests-only' };

export interface HostStack {
  azurite: AzuriteInstance;
  emulator: ComputeEmulator;
  host: RunningHost;
  call(method: string, route: string, body?: unknown, key?: string, headers?: Record<string, string>): Promise<{ status: number; body: any; headers: Headers }>; // eslint-disable-line @typescript-eslint/no-explicit-any
  /**
   * Moves an item's protection start back (the host's app runs on the wall clock): the scheduler takes only
   * slots after protection began, as Azure Backup's first backup follows the schedule, so a test that wants a
   * slot due now says the item was protected a while ago.
   */
  backdateProtection(itemKey: string, ms?: number): Promise<void>;
  stop(): Promise<void>;
}

/** The built app (dist/, made by `npm test`'s pretest build) in the local Functions host, on a private stack. */
export async function startHostStack(extra: Record<string, string> = {}, o: { log?: (line: string) => void } = {}): Promise<HostStack> {
  const azurite = await startAzurite();
  const emulator = await withEmulator({ lroDelayMs: 0 });
  const settings: Record<string, string> = {
    ...localAppSettings(privateEndpoints(azurite, emulator, SUB, 'vmb-host-')),
    ...DORMANT_TIMERS,
    VMBACKUP_SEGMENT_SIZE_MIB: '256',
    VMBACKUP_SHARD_SIZE_MIB: '1024',
    VMBACKUP_COPY_CONCURRENCY: '8',
    ...TEST_KEYS,
    ...extra,
  };
  // Host lines (the invocation contexts' logs among them) are dropped unless a test reads them.
  const host = await startHost({ appDir: process.cwd(), settings, port: 0, log: o.log ?? (() => {}) });
  return {
    azurite,
    emulator,
    host,
    async call(method, route, body, key = settings.FUNCTIONS_FUNCTION_KEY, headers = {}) {
      const res = await fetch(`${host.url}/api/${route}`, {
        method,
        headers: { 'content-type': 'application/json', ...(key ? { 'x-functions-key': key } : {}), ...headers },
        body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
      });
      const text = await res.text();
      let parsed: unknown = text;
      try {
        parsed = JSON.parse(text);
      } catch {
        /* not JSON */
      }
      return { status: res.status, body: parsed, headers: res.headers };
    },
    async backdateProtection(itemKey, ms = 2 * DAY_MS) {
      const repos = createRepos(AzureTableFactory.fromConnectionString(azurite.connectionString), settings.VMBACKUP_TABLE_PREFIX ?? 'vmb');
      await repos.items.update(itemKey, (i) => {
        i.protectedAt = new Date(Date.now() - ms);
        i.createdAt = new Date(Math.min(i.createdAt.getTime(), Date.now() - ms));
      });
    },
    async stop() {
      await host.stop();
      await emulator.close();
      await azurite.stop();
    },
  };
}
