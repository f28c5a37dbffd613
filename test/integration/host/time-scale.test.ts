import { afterAll, beforeAll, describe, expect, it, inject } from 'vitest';
import path from 'node:path';
import { QueueServiceClient } from '@azure/storage-queue';
import { startHost, type RunningHost } from '../../../src/local/host/host';
import { hostTimeOptions, strictProfile } from '../../../src/local/azure-profile';
import { uniqueName } from '../../support/names';

type Call = { fn: string; id?: string; phase?: string; dequeueCount?: number };
const calls = (): Call[] => (globalThis as unknown as { fixtureCalls: Call[] }).fixtureCalls ?? [];
const until = async (cond: () => boolean | Promise<boolean>, ms = 20_000): Promise<void> => {
  const end = Date.now() + ms;
  while (
    !(await Promise.resolve()
      .then(cond)
      .catch(() => false))
  ) {
    if (Date.now() > end) throw new Error('condition not reached');
    await new Promise((r) => setTimeout(r, 50));
  }
};

/**
 * Compressed time in the local host. Sources: host.json functionTimeout, "When an execution exceeds this
 * duration, a timeout error occurs" (MicrosoftDocs/azure-docs includes/functions-timeout-duration.md), and the
 * HTTP trigger's limit, "If a function that uses the HTTP trigger doesn't complete within 230 seconds, the Azure
 * Load Balancer will time out and return an HTTP 502 error. The function will continue running but will be
 * unable to return an HTTP response" (articles/azure-functions/functions-bindings-http-webhook-trigger.md).
 * Both durations are Azure's divided by the profile's timeScale.
 */
describe('local host under compressed time', () => {
  // timeScale 230: the 230 s cut-off is 1 s here; the slow app's 10-minute functionTimeout is 600/230 = 2.6 s.
  const profile = strictProfile({ timeScale: 230 });
  const hang = uniqueName('slow-hang');
  const logs: string[] = [];
  let slow: RunningHost;
  // The other fixture's host.json allows 2 s; at timeScale 4 that is 0.5 s, with the cut-off at 57.5 s.
  let quick: RunningHost;
  let qs: QueueServiceClient;
  beforeAll(async () => {
    const conn = inject('azurite').connectionString;
    qs = QueueServiceClient.fromConnectionString(conn);
    slow = await startHost({
      appDir: path.join(__dirname, '../../fixtures/host-app-slow'),
      settings: { AzureWebJobsStorage: conn, HANG_IN: hang },
      port: 0,
      log: (l) => logs.push(l),
      ...hostTimeOptions(profile),
    });
    quick = await startHost({
      appDir: path.join(__dirname, '../../fixtures/host-app'),
      settings: { AzureWebJobsStorage: conn, ECHO_IN: uniqueName('ts-in'), ECHO_OUT: uniqueName('ts-out'), FAIL_IN: uniqueName('ts-fail'), HANG_IN: uniqueName('ts-hang'), TICK: '0 0 0 1 1 *' },
      port: 0,
      log: (l) => logs.push(l),
      timeScale: 4,
    });
  });
  afterAll(async () => Promise.all([slow?.stop(), quick?.stop()]));

  it('takes its durations from the profile: Azure seconds divided by timeScale', () => {
    expect(slow.limits).toEqual({ functionTimeoutMs: (600 * 1000) / 230, httpCutOffMs: 1000 });
    expect(quick.limits).toEqual({ functionTimeoutMs: 500, httpCutOffMs: 230_000 / 4 });
  });

  it('answers a response that comes before the (scaled) 230 s cut-off as the function returned it', async () => {
    const res = await fetch(`${slow.url}/api/slow?ms=50&id=early`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ id: 'early', waited: 50 });
  });

  it('gives the client 502 past the cut-off (functions-bindings-http-webhook-trigger.md, Limits) while the invocation runs on to its end', async () => {
    const res = await fetch(`${slow.url}/api/slow?ms=1800&id=late`);
    expect(res.status).toBe(502);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
    // The function has not finished when the client is told 502, and it finishes later all the same.
    expect(
      calls()
        .filter((c) => c.id === 'late')
        .map((c) => c.phase),
    ).toEqual(['started']);
    await until(() => calls().some((c) => c.id === 'late' && c.phase === 'finished'));
    await until(() => logs.some((l) => l.includes('[slow] info: the invocation finished after the cut-off')));
  });

  it('ends a never-answering HTTP invocation at the scaled functionTimeout, after the client already got 502', async () => {
    const res = await fetch(`${slow.url}/api/slow?ms=never&id=never`);
    expect(res.status).toBe(502);
    await until(() => logs.some((l) => l.includes("[slow] error: the invocation failed after the cut-off: Timeout value of 00:10:00 exceeded by function 'Functions.slow'")));
    expect(
      calls()
        .filter((c) => c.id === 'never')
        .map((c) => c.phase),
    ).toEqual(['started']);
  });

  it('fails a queue invocation at host.json functionTimeout divided by timeScale (10 min here is 2.6 s), so the retry runs', async () => {
    await qs.getQueueClient(hang).sendMessage(Buffer.from('"first"').toString('base64'));
    await until(() => calls().some((c) => c.fn === 'hangsOnceSlowApp' && c.dequeueCount === 2));
    expect(logs.some((l) => l.startsWith('[hangsOnceSlowApp] error: failed (delivery 1 of 3)') && l.includes('Timeout value of 00:10:00 exceeded'))).toBe(true);
  });

  it('answers 500 when an HTTP invocation outlives functionTimeout (2 s / 4) before the cut-off; a quicker one answers', async () => {
    const failed = await fetch(`${quick.url}/api/wait?ms=1500`);
    expect(failed.status).toBe(500);
    expect((await failed.json()).error.code).toBe('InternalError');
    expect(logs.some((l) => l.startsWith('[wait] unhandled: FunctionTimeoutException') && l.includes("Timeout value of 00:00:02 exceeded by function 'Functions.wait'"))).toBe(true);
    const ok = await fetch(`${quick.url}/api/wait?ms=20`);
    expect(ok.status).toBe(200);
  });

  it('refuses a time scale that is not a positive number', async () => {
    await expect(startHost({ appDir: path.join(__dirname, '../../fixtures/host-app-slow'), settings: {}, port: 0, timeScale: 0 })).rejects.toThrow(/timeScale/);
  });
});
