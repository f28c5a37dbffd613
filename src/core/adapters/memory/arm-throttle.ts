import { armThrottled } from '../../errors';

export type ArmOpKind = 'reads' | 'writes' | 'deletes';

export interface MemoryArmBucket {
  bucket: number;
  refillPerSecond: number;
  /** Tokens at the start (default: a full bucket), e.g. 0 for a subscription that other clients drained. */
  start?: number;
}

/** Buckets per operation kind; a kind left out is not throttled. */
export type MemoryArmLimits = Partial<Record<ArmOpKind, MemoryArmBucket>>;

/**
 * ARM's token buckets on the memory cloud's clock, as the compute emulator models them (src/emulator/arm/
 * throttle.ts; https://learn.microsoft.com/azure/azure-resource-manager/management/request-limits-and-throttling):
 * one per operation kind, refilled continuously; a call that finds no token is refused with the wait until the
 * next one, and costs nothing. The refusal is what the Azure adapters make of ARM's 429 (adapters/azure/
 * arm-throttle.ts): ArmThrottled with the Retry-After in milliseconds.
 */
export class MemoryArmThrottle {
  private state = new Map<ArmOpKind, { tokens: number; at: number }>();
  /** Refusals per kind, for tests that want to see the throttling happened. */
  readonly refused: Record<ArmOpKind, number> = { reads: 0, writes: 0, deletes: 0 };

  constructor(
    private readonly limits: MemoryArmLimits,
    private readonly clock: () => number,
  ) {}

  take(kind: ArmOpKind, what: string): void {
    const l = this.limits[kind];
    if (!l) return;
    const now = this.clock();
    const b = this.state.get(kind) ?? { tokens: l.start ?? l.bucket, at: now };
    b.tokens = Math.min(l.bucket, b.tokens + ((now - b.at) * l.refillPerSecond) / 1000);
    b.at = now;
    this.state.set(kind, b);
    if (b.tokens >= 1) {
      b.tokens -= 1;
      return;
    }
    this.refused[kind]++;
    // ARM words it so (MicrosoftDocs/azure-docs#105248) and says Retry-After in whole seconds.
    const seconds = Math.max(1, Math.ceil((1 - b.tokens) / l.refillPerSecond));
    throw armThrottled(
      `ARM throttled ${what}: SubscriptionRequestsThrottled: Number of '${kind.slice(0, -1)}' requests for subscription exceeded. Please try again after '${seconds}' seconds.`,
      seconds * 1000,
    );
  }
}

/** A port's method by what ARM counts it as: GETs and lists are reads, deletes deletes, the rest writes. */
export function armKindOf(method: string): ArmOpKind {
  if (/^(get|list|vmSizeOffer)/.test(method)) return 'reads';
  if (/^delete/.test(method)) return 'deletes';
  return 'writes';
}

/**
 * The same port with every call going through the buckets first (a paged list takes its token before its
 * first item). For the memory compute and provisioning adapters; production never builds one.
 */
export function throttledPort<T extends object>(inner: T, throttle: MemoryArmThrottle): T {
  return new Proxy(inner, {
    get(target, prop, receiver) {
      const v = Reflect.get(target, prop, receiver) as unknown;
      if (typeof v !== 'function' || typeof prop !== 'string' || prop === 'constructor') return v;
      const fn = v as (...a: unknown[]) => unknown;
      const kind = armKindOf(prop);
      if (prop === 'listVms' || prop === 'listSnapshots') {
        return async function* (...args: unknown[]) {
          throttle.take(kind, prop);
          yield* fn.apply(target, args) as AsyncIterable<unknown>;
        };
      }
      return async (...args: unknown[]) => {
        throttle.take(kind, prop);
        return fn.apply(target, args);
      };
    },
  });
}
