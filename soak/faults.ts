import { createHttpHeaders, RestError, type PipelinePolicy, type PipelineResponse } from '@azure/core-rest-pipeline';

/** A small seeded generator (mulberry32): the same seed gives the same fault plan on every run. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export type ClientFaultKind = '503' | '500' | 'reset' | 'timeout' | 'lostResponse';
export const CLIENT_FAULT_KINDS: ClientFaultKind[] = ['503', '500', 'reset', 'timeout', 'lostResponse'];

export interface ClientFaults {
  policy: PipelinePolicy;
  /** Fail the requests at these positions (1-based, counted from now) with these kinds. */
  plan(at: { position: number; kind: ClientFaultKind }[]): void;
  clear(): void;
  /** Requests seen since the last plan (or ever, before the first). */
  readonly seen: number;
  readonly injected: Record<ClientFaultKind, number>;
}

/**
 * Client-side faults for every request the app sends (Azurite blob, queue and table, ARM, the disk data
 * plane), as a pipeline policy: Azurite has no fault hooks, so the faults are made where the client meets the
 * wire. A 503 carries Retry-After; a timeout and a reset throw what Node's HTTP stack throws; a lost response
 * lets the request reach the server and then drops the answer, which is what tests idempotency.
 */
export function clientFaults(): ClientFaults {
  let seen = 0;
  let planned = new Map<number, ClientFaultKind>();
  const injected: Record<ClientFaultKind, number> = { '503': 0, '500': 0, reset: 0, timeout: 0, lostResponse: 0 };
  const synthetic = (req: Parameters<PipelinePolicy['sendRequest']>[0], status: number): PipelineResponse => ({
    request: req,
    status,
    headers: createHttpHeaders(status === 503 ? { 'retry-after': '0', 'x-ms-error-code': 'ServerBusy' } : { 'x-ms-error-code': 'InternalError' }),
    bodyAsText: '',
  });
  return {
    policy: {
      name: 'reliabilityClientFaults',
      async sendRequest(req, next) {
        const kind = planned.get(++seen);
        if (!kind) return next(req);
        planned.delete(seen);
        injected[kind]++;
        switch (kind) {
          // Thrown as the SDKs' deserializers throw them: this policy sits outside their error handling.
          case '503':
            throw new RestError('The server is busy (injected)', { code: 'ServerBusy', statusCode: 503, request: req, response: synthetic(req, 503) });
          case '500':
            throw new RestError('Internal error (injected)', { code: 'InternalError', statusCode: 500, request: req, response: synthetic(req, 500) });
          case 'reset':
            throw new RestError('read ECONNRESET (injected)', { code: 'ECONNRESET', request: req });
          case 'timeout':
            await new Promise((r) => setTimeout(r, 20));
            throw new RestError('The request timed out (injected)', { code: 'ETIMEDOUT', request: req });
          case 'lostResponse': {
            await next(req);
            throw new RestError('socket hang up after the request was sent (injected)', { code: 'ECONNRESET', request: req });
          }
        }
      },
    },
    plan(at) {
      seen = 0;
      planned = new Map(at.map((x) => [x.position, x.kind]));
    },
    clear() {
      planned = new Map();
    },
    get seen() {
      return seen;
    },
    get injected() {
      return injected;
    },
  };
}

/**
 * The soak's fault modes by name. Client, server and LRO faults are planned per operation (cycle.ts); paging cuts
 * and blob caps are the strict profile's, set per stack on both the disk side (emulator) and the backup account
 * (the Azurite shim). The ARM-side modes use the emulator's token buckets (set tight) and its Run Command faults;
 * a mode a stack cannot run would report 'not available' instead of passing silently.
 */
export type FaultMode = 'clientFaults' | 'serverFaults' | 'lroFailures' | 'randomPageCuts' | 'blobCaps' | 'arm429Buckets' | 'runCommandSlow' | 'runCommandNeverAnswers';

export const FAULT_MODES: Record<FaultMode, { available: boolean; what: string }> = {
  clientFaults: { available: true, what: 'client-side 503/500/reset/timeout/lost response on every plane' },
  serverFaults: { available: true, what: 'emulator-injected 500/503/reset on ARM and the disk data plane' },
  lroFailures: { available: true, what: 'ARM long-running operations that end Failed' },
  randomPageCuts: { available: true, what: 'Get Page Ranges cut with NextMarker at seeded random points, disk side and backup account' },
  blobCaps: { available: true, what: 'per-blob 60 MiB/s and 500 req/s divided by the time scale: 503 ServerBusy, 500 OperationTimedOut, delayed answers' },
  arm429Buckets: { available: true, what: "ARM token buckets far smaller than Azure's, so reads and writes meet 429 with Retry-After" },
  runCommandSlow: { available: true, what: "Run Command (freeze/thaw of a file-system-consistent policy) slower than its minimum, past the client's timeout" },
  runCommandNeverAnswers: { available: true, what: 'Run Command whose script runs but whose result never comes back' },
};

/** Which named modes a run asks for; an unknown name is an error, an unavailable one is reported, not run. */
export function selectModes(list: string | undefined): { on: Set<FaultMode>; notAvailable: FaultMode[] } {
  const names = (
    list
      ? list
          .split(',')
          .map((s) => s.trim())
          .filter(Boolean)
      : Object.keys(FAULT_MODES)
  ) as FaultMode[];
  for (const n of names) if (!(n in FAULT_MODES)) throw new Error(`unknown fault mode '${n}'; known: ${Object.keys(FAULT_MODES).join(', ')}`);
  return { on: new Set(names.filter((n) => FAULT_MODES[n].available)), notAvailable: names.filter((n) => !FAULT_MODES[n].available) };
}

/**
 * ARM buckets small enough that a soak's few dozen requests per backup meet them (Azure: 250/25 reads, 200/10
 * writes). Refill is per Azure second and the emulator's ARM side runs 1000x faster, so these refill about 4 reads
 * and 2 writes per local second.
 */
export const TIGHT_ARM_BUCKETS = {
  reads: { bucket: 12, refillPerSecond: 0.004 },
  writes: { bucket: 8, refillPerSecond: 0.002 },
  deletes: { bucket: 8, refillPerSecond: 0.002 },
  globalMultiplier: 15,
};

/** Whether a run needs its item protected by a file-system-consistent policy (the Run Command modes do). */
export const needsConsistentPolicy = (modes: ReadonlySet<FaultMode>): boolean => modes.has('runCommandSlow') || modes.has('runCommandNeverAnswers');
