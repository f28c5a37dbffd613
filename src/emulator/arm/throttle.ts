import { createHash } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { ThrottleLimits } from './fidelity';

type OpKind = 'reads' | 'writes' | 'deletes';

interface Bucket {
  tokens: number;
  at: number;
}

export interface ThrottleVerdict {
  /** Headers for every answer, throttled or not. */
  headers: Record<string, string>;
  /** Set when the request is refused: the 429 body and wait. */
  refused?: { code: string; message: string; retryAfterMs: number };
}

/**
 * ARM's token buckets (https://learn.microsoft.com/azure/azure-resource-manager/management/request-limits-and-throttling,
 * "Regional throttling and token bucket algorithm"): per subscription, per service principal and per operation
 * type (reads 250 / 25 per s, writes and deletes 200 / 10 per s), plus a subscription-wide bucket over all
 * principals of 15x that. Refill runs `timeScale` times faster locally. The remaining counts are reported in
 * `x-ms-ratelimit-remaining-subscription-{reads,writes,deletes}` and the `-global-` variants on every answer.
 */
export class ArmThrottle {
  private buckets = new Map<string, Bucket>();

  constructor(
    private readonly limits: ThrottleLimits,
    private readonly timeScale: number,
    private readonly clock: () => number,
  ) {}

  check(req: IncomingMessage, pathname: string): ThrottleVerdict {
    const sub = /^\/subscriptions\/([^/]+)/i.exec(pathname)?.[1]?.toLowerCase();
    if (!sub) return { headers: {} };
    const kind: OpKind = req.method === 'GET' || req.method === 'HEAD' ? 'reads' : req.method === 'DELETE' ? 'deletes' : 'writes';
    const principal = principalOf(req.headers.authorization);
    const l = this.limits[kind];
    const mine = this.take(`${sub}|${principal}|${kind}`, l.bucket, l.refillPerSecond);
    const global = this.take(`${sub}|*|${kind}`, l.bucket * this.limits.globalMultiplier, l.refillPerSecond * this.limits.globalMultiplier);
    const remaining = Math.min(mine.left, global.left);
    const headers: Record<string, string> = {
      [`x-ms-ratelimit-remaining-subscription-${kind}`]: String(Math.max(0, Math.floor(mine.left))),
      [`x-ms-ratelimit-remaining-subscription-global-${kind}`]: String(Math.max(0, Math.floor(global.left))),
      // Compute's own header (troubleshooting-throttling-errors.md: `<RP>/<policy>;<count>`). Compute does not
      // publish its per-operation numbers, so the count mirrors the ARM bucket that applies to this request.
      'x-ms-ratelimit-remaining-resource': `Microsoft.Compute/${kind === 'reads' ? 'LowCostGet' : kind === 'deletes' ? 'Delete' : 'Put'}3Min;${Math.max(0, Math.floor(remaining))}`,
    };
    if (mine.ok && global.ok) return { headers };
    // Give back what the other bucket took: a refused request costs nothing.
    if (mine.ok) this.refund(`${sub}|${principal}|${kind}`);
    if (global.ok) this.refund(`${sub}|*|${kind}`);
    const waitMs = Math.max(mine.ok ? 0 : mine.waitMs, global.ok ? 0 : global.waitMs);
    const verb = kind.slice(0, -1);
    return {
      headers,
      refused: {
        code: 'SubscriptionRequestsThrottled',
        // Shape as ARM words it (MicrosoftDocs/azure-docs#105248, #51431); the wait is in local seconds.
        message: `Number of '${verb}' requests for subscription '${sub}' actor '${principal}' exceeded. Please try again after '${Math.max(1, Math.ceil(waitMs / 1000))}' seconds after additional tokens are available. Refer to https://aka.ms/arm-throttling`,
        retryAfterMs: Math.max(1, Math.ceil(waitMs)),
      },
    };
  }

  private take(key: string, size: number, refillPerAzureSecond: number): { ok: boolean; left: number; waitMs: number } {
    const now = this.clock();
    const perMs = (refillPerAzureSecond * this.timeScale) / 1000;
    const b = this.buckets.get(key) ?? { tokens: size, at: now };
    b.tokens = Math.min(size, b.tokens + Math.max(0, now - b.at) * perMs);
    b.at = now;
    this.buckets.set(key, b);
    if (b.tokens >= 1) {
      b.tokens -= 1;
      return { ok: true, left: b.tokens, waitMs: 0 };
    }
    return { ok: false, left: 0, waitMs: (1 - b.tokens) / perMs };
  }

  private refund(key: string): void {
    const b = this.buckets.get(key);
    if (b) b.tokens += 1;
  }
}

/** The caller: the token's `oid`/`appid` when it is a JWT, else a digest of the opaque token. */
export function principalOf(authorization: string | undefined): string {
  const token = /^Bearer (\S+)/.exec(authorization ?? '')?.[1] ?? '';
  const parts = token.split('.');
  if (parts.length === 3) {
    try {
      const claims = JSON.parse(Buffer.from(parts[1]!, 'base64url').toString('utf8')) as { oid?: string; appid?: string; sub?: string };
      const id = claims.oid ?? claims.appid ?? claims.sub;
      if (id) return id;
    } catch {
      /* not a JWT after all */
    }
  }
  return createHash('sha256').update(token).digest('hex').slice(0, 32);
}
