import { QueueServiceClient } from '@azure/storage-queue';
import type { InvocationContext } from '@azure/functions';
import { resolveSetting, type Registration } from './load';
import type { HostJson } from './host-json';
import type { Invoker } from './invocation';

/** The app's errors name their kind; a conflict (the item is busy) or a transient one is a retry it expects. */
function expectedRetry(err: unknown): boolean {
  const kind = (err as { kind?: unknown } | null)?.kind;
  return kind === 'Conflict' || kind === 'Transient';
}

export interface QueuePollers {
  stop(): Promise<void>;
}

/**
 * Queue triggers as the Storage Queues extension drives them: host.json batchSize, visibilityTimeout,
 * maxPollingInterval (doubling back-off when idle), maxDequeueCount then `<queue>-poison`, base64 encoding.
 */
export async function startQueuePollers(registrations: Registration[], settings: Record<string, string>, qs: HostJson, inv: Invoker, log: (line: string) => void): Promise<QueuePollers> {
  let stopping = false;
  const pollers: Promise<void>[] = [];

  /** Queue outputs the handler set on context.extraOutputs, sent with the host's message encoding. */
  async function sendExtraOutputs(r: Registration, ctx: InvocationContext): Promise<void> {
    for (const [name, b] of Object.entries(r.bindings)) {
      if (b.direction !== 'out' || b.type !== 'queue' || name === '$return') continue;
      const value = ctx.extraOutputs.get(name);
      if (value === undefined) continue;
      const conn = settings[String(b.connection ?? 'AzureWebJobsStorage')];
      if (!conn) throw new Error(`function ${r.name}: output connection '${String(b.connection)}' is not set`);
      const out = QueueServiceClient.fromConnectionString(conn).getQueueClient(resolveSetting(String(b.queueName), settings));
      await out.createIfNotExists();
      for (const item of Array.isArray(value) ? value : [value]) {
        const text = typeof item === 'string' ? item : JSON.stringify(item);
        await out.sendMessage(qs.base64 ? Buffer.from(text).toString('base64') : text);
      }
    }
  }

  for (const r of registrations.filter((x) => x.trigger.type === 'queueTrigger')) {
    const conn = settings[String(r.trigger.connection ?? 'AzureWebJobsStorage')];
    if (!conn) throw new Error(`function ${r.name}: the connection setting '${String(r.trigger.connection)}' is not set`);
    const service = QueueServiceClient.fromConnectionString(conn);
    const queueName = resolveSetting(String(r.trigger.queueName), settings);
    const queue = service.getQueueClient(queueName);
    const poison = service.getQueueClient(`${queueName}-poison`);
    await queue.createIfNotExists();
    type Message = Awaited<ReturnType<typeof queue.receiveMessages>>['receivedMessageItems'][number];
    const toPoison = async (m: Message): Promise<void> => {
      await poison.createIfNotExists();
      await poison.sendMessage(m.messageText);
      await queue.deleteMessage(m.messageId, m.popReceipt);
    };
    const deliver = async (m: Message): Promise<void> => {
      if (m.dequeueCount > qs.maxDequeueCount) return toPoison(m);
      const text = qs.base64 ? Buffer.from(m.messageText, 'base64').toString('utf8') : m.messageText;
      let input: unknown = text;
      try {
        input = JSON.parse(text);
      } catch {
        /* not JSON: passed as a string, as the host does */
      }
      try {
        const ctx = inv.context(r, {
          id: m.messageId,
          dequeueCount: m.dequeueCount,
          insertionTime: m.insertedOn,
          expirationTime: m.expiresOn,
          nextVisibleTime: m.nextVisibleOn,
          popReceipt: m.popReceipt,
        });
        await inv.invoke(r, ctx, input);
        await sendExtraOutputs(r, ctx);
        await queue.deleteMessage(m.messageId, m.popReceipt);
      } catch (err) {
        const last = m.dequeueCount >= qs.maxDequeueCount;
        // A redelivery the app asked for (its error says it is a conflict or transient, e.g. the item is
        // busy) is routine: info. Anything else, and the last delivery before the poison queue, is an error.
        if (!last && expectedRetry(err)) log(`[${r.name}] info: retrying (delivery ${m.dequeueCount} of ${qs.maxDequeueCount}): ${(err as Error).message}`);
        else log(`[${r.name}] error: failed (delivery ${m.dequeueCount} of ${qs.maxDequeueCount}${last ? ', to the poison queue' : ''}): ${(err as Error).message}`);
        if (last) await toPoison(m);
        else if (qs.visibilityTimeoutS === 0) await queue.updateMessage(m.messageId, m.popReceipt, undefined, 0).catch(() => {});
      }
    };
    pollers.push(
      (async () => {
        let idle = 100;
        while (!stopping) {
          let got;
          try {
            got = await queue.receiveMessages({ numberOfMessages: Math.min(32, qs.batchSize), visibilityTimeout: Math.max(1, qs.visibilityTimeoutS || 30) });
          } catch (err) {
            log(`[${r.name}] polling failed: ${(err as Error).message}`);
            await new Promise((res) => setTimeout(res, 1000));
            continue;
          }
          if (got.receivedMessageItems.length === 0) {
            await new Promise((res) => setTimeout(res, idle));
            idle = Math.min(qs.maxPollingIntervalMs, idle * 2);
            continue;
          }
          idle = 100;
          await Promise.all(got.receivedMessageItems.map((m) => inv.track(deliver(m))));
        }
      })(),
    );
  }
  return {
    async stop() {
      stopping = true;
      await Promise.allSettled(pollers);
    },
  };
}
