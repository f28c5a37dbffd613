import type { QueueServiceClient } from '@azure/storage-queue';
import type { JobType } from '../core/domain/model';
import type { Deps } from '../core/jobs/deps';
import { runStep } from '../core/jobs/run-step';
import { KINDS } from '../core/workflows/kinds';
import { armWaitsOf } from '../core/jobs/arm-wait';

export type Step = (deps: Deps, msg: { jobId: string }) => Promise<void>;

/** The steps of the given kinds by queue name: each queue polled costs a request per round, so stacks ask for what they use. */
export function stepsOf(types: readonly JobType[]): Record<string, Step> {
  const out: Record<string, Step> = {};
  for (const t of types) for (const s of KINDS.of(t)?.steps ?? []) out[s.queue] = (deps, msg) => s.run(deps, msg);
  return out;
}

/** The registered function name of a queue's step, as the host's span would name it. */
const stepName = (queue: string): string => KINDS.kinds.flatMap((k) => k.steps).find((s) => s.queue === queue)?.name ?? queue;

/** The backup, restore and protection steps; seeding steps are added by the stacks that need them. */
export const CORE_STEPS: Record<string, Step> = stepsOf(['Backup', 'Restore', 'Register', 'ConfigureProtection']);

export interface DrainOptions {
  /** Run every delivery twice, concurrently, as an at-least-once queue may. */
  duplicate?: boolean;
  maxRounds?: number;
  beforeStep?: (queue: string, msg: { jobId: string }) => void | Promise<void>;
  /**
   * Stop as soon as this holds (checked when a round found nothing visible), though messages sent with a delay
   * still wait: a duplicate delivery that lost a lease looks again only when the lease runs out (up to a
   * minute), and a caller waiting for its jobs need not wait for that no-op.
   */
  until?: () => boolean | Promise<boolean>;
}

/**
 * Delivers the steps' queue messages in-process until every queue is empty, as the Functions host would:
 * base64 JSON, a short visibility timeout so a failed delivery comes back with a higher dequeue count, and
 * the last delivery failing the job (runStep). For stacks that run the services without a host: the
 * integration tests and the soak. Only the given steps' queues are polled: each costs a request per round.
 */
export async function drainQueues(qs: QueueServiceClient, steps: Record<string, Step>, deps: Deps, opts: DrainOptions & { maxDequeueCount: number }): Promise<number> {
  let handled = 0;
  const deliver = async (queue: string, step: Step, text: string, dequeueCount: number): Promise<boolean> => {
    const msg = JSON.parse(Buffer.from(text, 'base64').toString('utf8')) as { jobId: string };
    try {
      await opts.beforeStep?.(queue, msg);
      await runStep(deps, msg.jobId, { dequeueCount, maxDequeueCount: opts.maxDequeueCount, step: stepName(queue), message: msg, queue, armWaits: armWaitsOf(msg) }, () => step(deps, msg));
      return true;
    } catch {
      return false; // left invisible: redelivered after the visibility timeout
    }
  };
  for (let round = 0; round < (opts.maxRounds ?? 500); round++) {
    let any = false;
    for (const [queue, step] of Object.entries(steps)) {
      const q = qs.getQueueClient(queue);
      const got = await q.receiveMessages({ numberOfMessages: 16, visibilityTimeout: 1 });
      await Promise.all(
        got.receivedMessageItems.map(async (m) => {
          any = true;
          const runs = opts.duplicate ? 2 : 1;
          const ok = await Promise.all(Array.from({ length: runs }, () => deliver(queue, step, m.messageText, m.dequeueCount)));
          // One successful delivery is enough; otherwise the message reappears after its visibility timeout.
          if (ok.some(Boolean)) {
            await q.deleteMessage(m.messageId, m.popReceipt).catch(() => undefined);
            handled++;
          }
        }),
      );
    }
    if (!any) {
      if (await opts.until?.()) return handled;
      const props = await Promise.all(Object.keys(steps).map((n) => qs.getQueueClient(n).getProperties()));
      if (props.every((p) => (p.approximateMessagesCount ?? 0) === 0)) return handled;
      await new Promise((r) => setTimeout(r, 250));
    }
  }
  throw new Error(`queues did not drain: ${await waiting(qs, Object.keys(steps))}`);
}

/** Which queues still hold messages, and how many: what a drain that gave up was waiting for. */
async function waiting(qs: QueueServiceClient, queues: string[]): Promise<string> {
  const counts = await Promise.all(queues.map(async (n) => [n, (await qs.getQueueClient(n).getProperties()).approximateMessagesCount ?? 0] as const));
  return counts
    .filter(([, c]) => c > 0)
    .map(([n, c]) => `${n} ${c}`)
    .join(', ');
}
