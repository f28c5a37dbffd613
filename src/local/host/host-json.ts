import { readFileSync } from 'node:fs';
import path from 'node:path';

/** The host.json settings the local host honours, in Azure's units (seconds as written, before any time scale). */
export interface HostJson {
  batchSize: number;
  maxDequeueCount: number;
  visibilityTimeoutS: number;
  maxPollingIntervalMs: number;
  base64: boolean;
  /** 0 when host.json says -1 (no timeout). */
  functionTimeoutS: number;
}

/** host.json durations are TimeSpans, "hh:mm:ss". */
function hms(s: string | undefined, def: number): number {
  const m = s && /^(\d+):(\d+):(\d+)$/.exec(s);
  return m ? Number(m[1]) * 3600 + Number(m[2]) * 60 + Number(m[3]) : def;
}

export function readHostJson(appDir: string): HostJson {
  const hostJson = JSON.parse(readFileSync(path.join(appDir, 'host.json'), 'utf8')) as { functionTimeout?: string; extensions?: { queues?: Record<string, unknown> } };
  const q = hostJson.extensions?.queues ?? {};
  return {
    batchSize: Number(q.batchSize ?? 16),
    maxDequeueCount: Number(q.maxDequeueCount ?? 5),
    visibilityTimeoutS: hms(q.visibilityTimeout as string | undefined, 0),
    maxPollingIntervalMs: hms(q.maxPollingInterval as string | undefined, 60) * 1000,
    base64: (q.messageEncoding ?? 'base64') !== 'none',
    // Azure's default on the Consumption plan is 5 minutes; -1 means none (includes/functions-timeout-duration.md).
    functionTimeoutS: hostJson.functionTimeout === '-1' ? 0 : hms(hostJson.functionTimeout, 300),
  };
}

/** "hh:mm:ss" as the host prints a TimeSpan in its timeout message. */
export function timeSpan(seconds: number): string {
  const s = Math.round(seconds);
  const two = (n: number): string => String(n).padStart(2, '0');
  return `${two(Math.floor(s / 3600))}:${two(Math.floor((s % 3600) / 60))}:${two(s % 60)}`;
}
