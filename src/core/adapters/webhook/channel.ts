import type { AlertChannel } from '../../ports/alerts';

/**
 * Posts alerts to an incoming webhook. The URL is itself a credential (whoever holds it can post to the
 * channel), so no error this throws carries it: only the host and the status.
 */
export class WebhookChannel implements AlertChannel {
  constructor(
    private readonly url: string,
    private readonly timeoutMs = 10_000,
  ) {}

  async send(body: { text: string }): Promise<void> {
    const host = new URL(this.url).host;
    let res: Response;
    try {
      res = await fetch(this.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (err) {
      throw new Error(`The alert webhook at ${host} did not answer (${(err as Error)?.name ?? 'error'}).`);
    }
    // Drain the body so the connection is reused; its text is the receiver's, not logged.
    await res.arrayBuffer().catch(() => undefined);
    if (!res.ok) throw new Error(`The alert webhook at ${host} answered ${res.status}.`);
  }
}
