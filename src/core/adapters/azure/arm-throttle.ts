import type { PipelinePolicy, PipelineRequest, PipelineResponse } from '@azure/core-rest-pipeline';
import { armThrottled, armThrottleOf, jitteredRetryMs, retryAfterMsOf } from '../../errors';

/**
 * What a throttled ARM call becomes (https://learn.microsoft.com/azure/azure-resource-manager/management/request-limits-and-throttling;
 * Compute: https://learn.microsoft.com/troubleshoot/azure/virtual-machines/troubleshooting-throttling-errors).
 * Every 429 carries Retry-After. A short wait is left to the SDK's own throttling retry, which sleeps it in
 * process and sends again; a long one (Compute asks for up to 20 minutes) or a third 429 for the same request
 * ends the call as ArmThrottled, and the step hands its message back to the queue for that long instead of
 * holding a Function worker asleep (jobs/arm-wait.ts). Sits below the retry policy so it sees every try,
 * long-running operation polls and list pages included.
 */
export const ARM_THROTTLE_POLICY = 'vmbackupArmThrottle';

/** Waits up to this long are slept by the SDK's retry (at most twice per request). */
const INLINE_WAIT_MS = 5_000;
const INLINE_TRIES = 2;

export function armThrottlePolicy(): PipelinePolicy {
  const seen = new WeakMap<PipelineRequest, number>();
  return {
    name: ARM_THROTTLE_POLICY,
    async sendRequest(request, next): Promise<PipelineResponse> {
      const response = await next(request);
      if (response.status !== 429) return response;
      const waitMs = retryAfterMsOf((name) => response.headers.get(name)) ?? INLINE_WAIT_MS * 2;
      const tries = (seen.get(request) ?? 0) + 1;
      seen.set(request, tries);
      if (waitMs <= INLINE_WAIT_MS && tries <= INLINE_TRIES) return response;
      throw armThrottled(`ARM throttled ${request.method} ${new URL(request.url).pathname}: ${messageOf(response)}`, waitMs);
    },
  };
}

/** ARM's own words ("Number of 'read' requests ... exceeded"), from the error body. */
function messageOf(response: PipelineResponse): string {
  try {
    const body = JSON.parse(response.bodyAsText ?? '{}') as { error?: { code?: string; message?: string }; code?: string; message?: string };
    const e = body.error ?? body;
    return `${e.code ?? 'TooManyRequests'}: ${e.message ?? 'too many requests'}`.slice(0, 400);
  } catch {
    return 'TooManyRequests';
  }
}

/** The client options with the throttle policy added (once) below the retry policy. */
export function withArmThrottle<T extends { additionalPolicies?: { policy: PipelinePolicy; position: 'perCall' | 'perRetry' }[] }>(options: T | undefined): T {
  const o = (options ?? {}) as T;
  return { ...o, additionalPolicies: [...(o.additionalPolicies ?? []), { policy: armThrottlePolicy(), position: 'perRetry' as const }] };
}

/**
 * Polls an accepted operation until the deadline, waiting out ARM's Retry-After when a poll is throttled (429):
 * the script is already in the guest, so giving up on it would make the caller send another, whose polls are
 * throttled in turn. (The SDK's begin call makes the first poll itself; a 429 there still ends the call.)
 */
export async function pollThrough<T>(poller: { pollUntilDone(o: { abortSignal: AbortSignal }): Promise<T> }, deadline: number): Promise<T> {
  for (;;) {
    try {
      return await poller.pollUntilDone({ abortSignal: AbortSignal.timeout(Math.max(1, deadline - Date.now())) });
    } catch (err) {
      const throttle = armThrottleOf(err);
      if (!throttle || Date.now() + throttle.retryAfterMs >= deadline) throw err;
      const pause = Math.min(jitteredRetryMs(throttle.retryAfterMs), deadline - Date.now());
      await new Promise((resolve) => setTimeout(resolve, pause));
    }
  }
}
