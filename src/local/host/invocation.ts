import { randomUUID } from 'node:crypto';
// Loading the library is safe before the shim: it asks for @azure/functions-core only when the app registers.
import { InvocationContext } from '@azure/functions';
import type { Registration } from './load';
import { timeSpan } from './host-json';

/** What the Functions host raises when an invocation outlives host.json functionTimeout. */
export class FunctionTimeoutError extends Error {
  constructor(
    readonly functionName: string,
    readonly invocationId: string,
    azureSeconds: number,
    timeScale: number,
  ) {
    // The host's own words ("Timeout value of 00:04:00 exceeded by function 'Functions.X' (Id: '...'). Initiating
    // cancellation."), with the local duration when time is compressed.
    super(
      `Timeout value of ${timeSpan(azureSeconds)} exceeded by function 'Functions.${functionName}' (Id: '${invocationId}')${timeScale === 1 ? '' : ` (time scale ${timeScale}: ${(azureSeconds / timeScale).toFixed(2)} s here)`}. Initiating cancellation.`,
    );
    this.name = 'FunctionTimeoutException';
  }
}

export interface Invoker {
  readonly functionTimeoutMs: number;
  context(r: Registration, triggerMetadata?: Record<string, unknown>): InvocationContext;
  /** The handler's run under functionTimeout; its promise is tracked so stop() waits for it. */
  invoke(r: Registration, ctx: InvocationContext, input: unknown): Promise<unknown>;
  track<T>(p: Promise<T>): Promise<T>;
  /** Settles when every tracked invocation has. */
  drain(): Promise<void>;
}

/**
 * host.json's functionTimeout, as the Functions host applies it to every trigger: "After the trigger starts
 * function execution, the function needs to return or respond within the timeout duration. When an execution
 * exceeds this duration, a timeout error occurs and the language worker process restarts"
 * (MicrosoftDocs/azure-docs includes/functions-timeout-duration.md). Compressed time divides it by timeScale.
 * The runaway promise cannot be stopped in-process (Azure restarts the worker); its failure frees the trigger
 * (a queue message comes back after its visibility timeout, as after any failure).
 */
export function invoker(o: { functionTimeoutS: number; timeScale: number; log: (line: string) => void }): Invoker {
  const functionTimeoutMs = (o.functionTimeoutS * 1000) / o.timeScale;
  const inflight = new Set<Promise<unknown>>();
  const track = <T>(p: Promise<T>): Promise<T> => {
    inflight.add(p);
    void p.finally(() => inflight.delete(p)).catch(() => {});
    return p;
  };
  return {
    functionTimeoutMs,
    track,
    context(r, triggerMetadata = {}) {
      return new InvocationContext({
        invocationId: randomUUID(),
        functionName: r.name,
        triggerMetadata,
        logHandler: (level, ...args) => o.log(`[${r.name}] ${level}: ${args.map(String).join(' ')}`),
      });
    },
    invoke(r, ctx, input) {
      const run = Promise.resolve().then(() => r.handler(input, ctx));
      if (!functionTimeoutMs) return track(run);
      let timer: NodeJS.Timeout | undefined;
      const expired = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new FunctionTimeoutError(r.name, ctx.invocationId, o.functionTimeoutS, o.timeScale)), functionTimeoutMs);
      });
      return track(Promise.race([run, expired]).finally(() => clearTimeout(timer)));
    },
    async drain() {
      await Promise.allSettled([...inflight]);
    },
  };
}
