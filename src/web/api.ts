/** The app's public HTTP API, as the browser calls it: the key lives for the browser session only. */

const KEY = 'vmbackup.functionKey';

export function getKey(): string | null {
  return sessionStorage.getItem(KEY);
}
export function setKey(key: string): void {
  sessionStorage.setItem(KEY, key);
}
export function forgetKey(): void {
  sessionStorage.removeItem(KEY);
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly recommendedAction?: string,
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
  }
}

/** The page is served from <app>/api/ui/, so the API is its parent folder. */
const BASE = new URL('../', document.baseURI);

// biome-ignore lint/suspicious/noExplicitAny: request and response bodies are JSON of any shape
export async function api<T = any>(method: string, route: string, body?: unknown, key = getKey()): Promise<T> {
  let res: Response;
  try {
    res = await fetch(new URL(route, BASE), {
      method,
      headers: { ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...(key ? { 'x-functions-key': key } : {}) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch {
    throw new ApiError(0, 'Unreachable', 'The app did not answer.', 'Check that the Function App is running and reachable, then retry.');
  }
  const text = await res.text();
  // biome-ignore lint/suspicious/noExplicitAny: request and response bodies are JSON of any shape
  let parsed: any;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    parsed = undefined;
  }
  if (!res.ok) {
    const e = parsed?.error ?? {};
    throw new ApiError(res.status, e.code ?? `Http${res.status}`, e.message ?? `The app answered ${res.status}.`, e.recommendedAction, e.details);
  }
  return parsed as T;
}

export const enc = encodeURIComponent;

export interface Job {
  jobId: string;
  type: string;
  status: string;
  itemKey?: string;
  trigger?: string;
  createdAt: string;
  startedAt?: string;
  endedAt?: string;
  phase?: string;
  error?: { code: string; message: string; recommendedAction: string };
  warnings: string[];
  params: Record<string, unknown>;
  result: Record<string, unknown>;
  consistency?: string;
  cancellable: boolean;
  progress: { bytesDone: number; bytesTotal: number; segmentsDone: number; segmentsTotal: number; percent?: number; throughputBytesPerSecond?: number; etaSeconds?: number };
}
export interface Item {
  itemKey: string;
  vmId: string;
  vmName: string;
  resourceGroup: string;
  location: string;
  osType: string;
  state: string;
  policyName?: string;
  lastBackupAt?: string;
  busy: boolean;
  activeJobId?: string;
  disks: { name: string; sizeBytes: number }[];
}
export interface Vm {
  id: string;
  name: string;
  resourceGroup: string;
  location: string;
  osType: string;
  powerState: string;
  itemKey: string;
  registration: string;
  policyName?: string;
  tags: Record<string, string>;
  disks: unknown[];
}
export interface Point {
  pointId: string;
  itemKey: string;
  createdAt: string;
  consistency: string;
  disksConsistentSet?: boolean;
  state: string;
  expiresAt?: string;
  sizeBytes: number;
  changedBytes: number;
  bytesUploaded: number;
  verifiedAt?: string;
  deletedAt?: string;
  disks: { name: string; lun: number; sizeBytes: number }[];
  instantRestore?: boolean;
  instantRestoreUntil?: string;
}
export const TERMINAL = new Set(['Completed', 'CompletedWithWarnings', 'Failed', 'Cancelled']);
