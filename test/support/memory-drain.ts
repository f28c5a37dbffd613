import { MemoryQueueFactory } from '../../src/core/adapters/memory/queues';
import type { MessageQueue } from '../../src/core/ports/queues';
import type { Deps } from '../../src/core/jobs/deps';
import { runStep } from '../../src/core/jobs/run-step';
import type { FakeClock } from './memory-deps';
import { armWaitsOf } from '../../src/core/jobs/arm-wait';

interface Delivery {
  visibleAt: number;
  dequeueCount: number;
}

/**
 * The memory queue factory plus what a storage queue adds: a visibility delay per message and its dequeue
 * count. Kept beside the messages (a WeakMap on the stored copy), so `sent` still reads as before.
 */
export class DrainableQueues extends MemoryQueueFactory {
  readonly meta = new WeakMap<object, Delivery>();

  constructor(private readonly clock: FakeClock) {
    super();
  }

  override queue(name: string): MessageQueue {
    const inner = super.queue(name);
    return {
      name,
      ensure: () => inner.ensure(),
      send: async (message, options) => {
        await inner.send(message);
        const list = this.sent.get(name)!;
        this.meta.set(list[list.length - 1] as object, { visibleAt: this.clock.ms + (options?.visibilityDelaySeconds ?? 0) * 1000, dequeueCount: 0 });
      },
    };
  }

  pending(): number {
    let n = 0;
    for (const l of this.sent.values()) n += l.length;
    return n;
  }
}

export interface MemoryDrainOptions {
  /** Deliver each message twice at once, as an at-least-once queue may. */
  duplicate?: boolean;
  maxDequeueCount?: number;
  /** Stop after this many rounds, messages left queued (a process that stops part way). */
  rounds?: number;
  /** Seconds a failed delivery stays invisible (the host's visibility timeout). */
  visibilityTimeoutSeconds?: number;
  beforeStep?: (queue: string, msg: { jobId: string }) => void | Promise<void>;
}

/**
 * The Functions host's queue trigger in-process on the memory queues: each kind's step gets the messages of
 * its queue (a malformed one is dropped, as src/functions/steps.ts does), runStep decides what a failure
 * means, a failed delivery comes back after the visibility timeout with a higher dequeue count. When only
 * delayed messages are left, the fake clock moves to the first of them, as time would pass.
 */
export async function drainMemory(deps: Deps, queues: DrainableQueues, clock: FakeClock, opts: MemoryDrainOptions = {}): Promise<number> {
  const maxDequeueCount = opts.maxDequeueCount ?? 5;
  let handled = 0;
  const rounds = opts.rounds ?? 1000;
  for (let round = 0; round < rounds; round++) {
    let any = false;
    for (const kind of deps.kinds.kinds) {
      for (const step of kind.steps) {
        const list = queues.sent.get(step.queue) ?? [];
        const visible = list.filter((m) => (queues.meta.get(m as object)?.visibleAt ?? 0) <= clock.ms);
        if (visible.length === 0) continue;
        any = true;
        for (const m of visible) list.splice(list.indexOf(m), 1);
        await Promise.all(
          visible.map(async (m) => {
            const meta = queues.meta.get(m as object) ?? { visibleAt: 0, dequeueCount: 0 };
            meta.dequeueCount++;
            const parsed = step.message.safeParse(m);
            if (!parsed.success) return;
            const deliver = async (): Promise<boolean> => {
              try {
                await opts.beforeStep?.(step.queue, parsed.data);
                await runStep(deps, parsed.data.jobId, { dequeueCount: meta.dequeueCount, maxDequeueCount, step: step.name, message: parsed.data, queue: step.queue, armWaits: armWaitsOf(m) }, () =>
                  step.run(deps, parsed.data),
                );
                return true;
              } catch {
                return false;
              }
            };
            const ok = await Promise.all(Array.from({ length: opts.duplicate ? 2 : 1 }, deliver));
            handled++;
            if (!ok.some(Boolean)) {
              meta.visibleAt = clock.ms + (opts.visibilityTimeoutSeconds ?? 30) * 1000;
              queues.meta.set(m as object, meta);
              (queues.sent.get(step.queue) ?? queues.sent.set(step.queue, []).get(step.queue)!).push(m);
            }
          }),
        );
      }
    }
    if (!any) {
      const times = [...queues.sent.values()].flat().map((m) => queues.meta.get(m as object)?.visibleAt ?? 0);
      if (times.length === 0) return handled;
      clock.ms = Math.max(clock.ms, Math.min(...times));
    }
  }
  if (opts.rounds !== undefined) return handled;
  throw new Error('the memory queues did not drain');
}
