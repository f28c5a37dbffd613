import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { loadApp, type Registration } from './load';
import { readHostJson } from './host-json';
import { invoker } from './invocation';
import { startTimers } from './timers';
import { startQueuePollers } from './queues';
import { httpServer, HTTP_CUT_OFF_SECONDS } from './http';

export { decodeSegment, HTTP_CUT_OFF_SECONDS } from './http';
export { FunctionTimeoutError } from './invocation';

export interface HostOptions {
  appDir: string;
  settings: Record<string, string>;
  port?: number;
  host?: string;
  log?: (line: string) => void;
  /**
   * Compressed time (AzureProfile.timeScale, default 1): host.json functionTimeout and the HTTP front end's
   * 230-second cut-off are divided by it, as the emulator divides its rates and durations.
   */
  timeScale?: number;
}

export interface RunningHost {
  url: string;
  registrations: Registration[];
  keys: { master: string; function: string };
  /** The local durations in force (Azure's divided by the time scale), in milliseconds; 0 is none. */
  limits: { functionTimeoutMs: number; httpCutOffMs: number };
  runTimer(name: string): Promise<void>;
  stop(): Promise<void>;
}

/**
 * A development host for the app: loads it as the Functions host does and drives HTTP routes (with function
 * and admin keys), timers (NCRONTAB) and queue triggers (encoding, visibility, dequeue count, poison queue),
 * every invocation under host.json functionTimeout and every HTTP answer under the front end's cut-off.
 */
export async function startHost(o: HostOptions): Promise<RunningHost> {
  const log = o.log ?? ((l: string) => console.log(l));
  const timeScale = o.timeScale ?? 1;
  if (!(timeScale > 0) || !Number.isFinite(timeScale)) throw new RangeError(`timeScale must be a positive number, not ${timeScale}`);
  for (const [k, v] of Object.entries(o.settings)) process.env[k] = v;
  const registrations = loadApp(o.appDir);
  const hostJson = readHostJson(o.appDir);
  const keys = {
    master: o.settings.FUNCTIONS_MASTER_KEY || randomBytes(24).toString('base64url'),
    function: o.settings.FUNCTIONS_FUNCTION_KEY || randomBytes(24).toString('base64url'),
  };
  const inv = invoker({ functionTimeoutS: hostJson.functionTimeoutS, timeScale, log });
  const timers = startTimers(registrations, o.settings, inv, log);
  const queues = await startQueuePollers(registrations, o.settings, hostJson, inv, log);
  const server = httpServer(registrations, inv, { keys, timeScale, log });
  await new Promise<void>((resolve) => server.listen(o.port ?? 7071, o.host ?? '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://${o.host ?? '127.0.0.1'}:${port}`,
    registrations,
    keys,
    limits: { functionTimeoutMs: inv.functionTimeoutMs, httpCutOffMs: (HTTP_CUT_OFF_SECONDS * 1000) / timeScale },
    runTimer: timers.runTimer,
    async stop() {
      timers.stop();
      server.closeAllConnections?.();
      await new Promise<void>((r) => server.close(() => r()));
      await Promise.allSettled([inv.drain(), queues.stop()]);
    },
  };
}
