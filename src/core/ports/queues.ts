/** The step queues. Messages are JSON; delivery is at-least-once, so every consumer is idempotent. */
export interface MessageQueue {
  readonly name: string;
  ensure(): Promise<void>;
  send(message: unknown, options?: { visibilityDelaySeconds?: number }): Promise<void>;
}

export interface QueueFactory {
  queue(name: string): MessageQueue;
}
