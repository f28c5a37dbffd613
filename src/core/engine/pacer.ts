import { TransientError } from '../errors';

/**
 * Concurrency that halves on throttling and creeps back up while requests succeed, the way AzCopy paces
 * itself against a storage account: throughput stays near what the account allows without a storm of 503s.
 */
export class AdaptiveLimiter {
  private active = 0;
  private waiters: (() => void)[] = [];
  private successesSinceChange = 0;
  limit: number;
  throttles = 0;

  constructor(
    private readonly max: number,
    private readonly min = 1,
    private readonly growEvery = 32,
  ) {
    this.limit = max;
  }

  async run<T>(fn: () => Promise<T>): Promise<T> {
    while (this.active >= this.limit) await new Promise<void>((r) => this.waiters.push(r));
    this.active++;
    try {
      return await fn();
    } finally {
      this.active--;
      this.waiters.shift()?.();
    }
  }

  onThrottle(): void {
    this.throttles++;
    this.successesSinceChange = 0;
    this.limit = Math.max(this.min, Math.floor(this.limit / 2));
  }

  onSuccess(): void {
    if (this.limit >= this.max) return;
    if (++this.successesSinceChange >= this.growEvery) {
      this.successesSinceChange = 0;
      this.limit++;
      this.waiters.shift()?.();
    }
  }
}

export interface RetryOptions {
  maxAttempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
  /** Called on throttling (429/503) so a pacer can back off. */
  onThrottle?: () => void;
  onRetry?: (attempt: number, err: unknown) => void;
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
}

export const defaultRetry: RetryOptions = { maxAttempts: 8, baseDelayMs: 200, maxDelayMs: 30_000 };

const RETRYABLE_STATUS = new Set([408, 429, 500, 502, 503, 504]);
const RETRYABLE_CODES = new Set(['ECONNRESET', 'ECONNREFUSED', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN', 'REQUEST_SEND_ERROR', 'UND_ERR_SOCKET']);

export interface Classified {
  retryable: boolean;
  throttled: boolean;
  retryAfterMs?: number;
}

export function classify(err: unknown): Classified {
  // ARM's throttling (a SAS renewed mid-copy) is waited out by the step runtime with the message invisible
  // (jobs/arm-wait.ts), not slept here: its Retry-After may be minutes, and the segment resumes at its checkpoint.
  if (err instanceof TransientError) return { retryable: err.code !== 'ArmThrottled', throttled: false, retryAfterMs: err.retryAfterMs };
  const e = err as { statusCode?: number; code?: string; name?: string; response?: { headers?: { get?(n: string): string | undefined } } };
  if (e && typeof e === 'object') {
    if (e.name === 'AbortError') return { retryable: false, throttled: false };
    const status = e.statusCode;
    if (status !== undefined && RETRYABLE_STATUS.has(status)) {
      const ra = e.response?.headers?.get?.('retry-after');
      const retryAfterMs = ra !== undefined && /^\d+$/.test(ra) ? Number(ra) * 1000 : undefined;
      // 500 OperationTimedOut is how a blob past its targets answers once its queue is full, like 503 ServerBusy
      // ("Operations could not be completed within the specified timeout", includes/storage-blob-scale-targets.md,
      // https://learn.microsoft.com/rest/api/storageservices/blob-service-error-codes): back off on both.
      const throttled = status === 429 || status === 503 || (status === 500 && errorCode(e) === 'OperationTimedOut');
      return { retryable: true, throttled, retryAfterMs };
    }
    if (status === undefined && e.code && RETRYABLE_CODES.has(e.code)) return { retryable: true, throttled: false };
  }
  return { retryable: false, throttled: false };
}

function errorCode(e: { code?: string; response?: { headers?: { get?(n: string): string | undefined } } }): string | undefined {
  return e.response?.headers?.get?.('x-ms-error-code') ?? e.code;
}

const realSleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Exponential back-off with full jitter; honours Retry-After when the service sends one. */
export async function withRetry<T>(fn: () => Promise<T>, opts: RetryOptions = defaultRetry): Promise<T> {
  const sleep = opts.sleep ?? realSleep;
  const random = opts.random ?? Math.random;
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      const c = classify(err);
      if (!c.retryable || attempt >= opts.maxAttempts) throw err;
      if (c.throttled) opts.onThrottle?.();
      opts.onRetry?.(attempt, err);
      const backoff = Math.min(opts.maxDelayMs, opts.baseDelayMs * 2 ** (attempt - 1));
      await sleep(Math.max(c.retryAfterMs ?? 0, Math.floor(random() * backoff)));
    }
  }
}

/**
 * The pacing every pooled transfer uses: a limiter, and a call wrapper that retries with back-off, halves the
 * limiter when throttled and lets it grow back after each success.
 */
/** The floor the limiter halves down to on throttling. */
const MIN_IN_FLIGHT = 4;

export function pacedCalls(concurrency: number, retry: RetryOptions = defaultRetry, onThrottle?: () => void): { limiter: AdaptiveLimiter; call: <T>(fn: () => Promise<T>) => Promise<T> } {
  // Never below a few in flight: a cell is a read then a write, so one request at a time leaves the blob idle while
  // the next cell is read (measured in bench scenario 13: 0.67 of the cap at one in flight).
  const limiter = new AdaptiveLimiter(concurrency, Math.min(concurrency, MIN_IN_FLIGHT));
  const opts: RetryOptions = {
    ...retry,
    onThrottle: () => {
      onThrottle?.();
      limiter.onThrottle();
    },
  };
  const call = async <T>(fn: () => Promise<T>): Promise<T> => {
    const r = await withRetry(fn, opts);
    limiter.onSuccess();
    return r;
  };
  return { limiter, call };
}
