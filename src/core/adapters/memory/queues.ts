import type { MessageQueue, QueueFactory } from '../../ports/queues';

/** Records what would be sent, for unit tests of services. */
export class MemoryQueueFactory implements QueueFactory {
  readonly sent = new Map<string, unknown[]>();

  queue(name: string): MessageQueue {
    const list = this.sent.get(name) ?? [];
    this.sent.set(name, list);
    return {
      name,
      async ensure() {},
      async send(message) {
        list.push(JSON.parse(JSON.stringify(message)));
      },
    };
  }

  drain(name: string): unknown[] {
    const list = this.sent.get(name) ?? [];
    return list.splice(0, list.length);
  }
}
