import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * An incoming-webhook receiver on a loopback port, as Slack or Teams would be: it records each POST's JSON
 * body and answers 200, or whatever status `failNext` queued (a 500 to make the sender retry).
 */
export class WebhookReceiver {
  readonly received: { status: number; body: unknown; contentType?: string }[] = [];
  private readonly failures: number[] = [];
  private server?: Server;
  url = '';

  async start(): Promise<this> {
    this.server = createServer((req, res) => {
      let text = '';
      req.on('data', (c) => (text += c));
      req.on('end', () => {
        const status = this.failures.shift() ?? 200;
        let body: unknown = text;
        try {
          body = JSON.parse(text);
        } catch {
          /* kept as text: the test sees what was sent */
        }
        this.received.push({ status, body, contentType: req.headers['content-type'] });
        res.writeHead(status, { 'content-type': 'text/plain' }).end(status === 200 ? 'ok' : 'error');
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/hooks/T000/B000/secretpart`;
    return this;
  }

  /** The next `n` posts answer `status`. */
  failNext(n: number, status = 500): void {
    for (let i = 0; i < n; i++) this.failures.push(status);
  }

  /** The alert texts the receiver accepted (status 200). */
  get accepted(): string[] {
    return this.received.filter((r) => r.status === 200).map((r) => (r.body as { text: string }).text);
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}
