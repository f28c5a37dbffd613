import { afterAll, beforeAll, describe, expect, it, inject } from 'vitest';
import path from 'node:path';
import { QueueServiceClient } from '@azure/storage-queue';
import { startHost, type RunningHost } from '../../../src/local/host/host';
import { uniqueName } from '../../support/names';

type Call = { fn: string; message?: unknown; dequeueCount?: number };
const calls = (): Call[] => (globalThis as unknown as { fixtureCalls: Call[] }).fixtureCalls ?? [];
const until = async (cond: () => boolean | Promise<boolean>, ms = 20_000): Promise<void> => {
  const end = Date.now() + ms;
  while (
    !(await Promise.resolve()
      .then(cond)
      .catch(() => false))
  ) {
    if (Date.now() > end) throw new Error('condition not reached');
    await new Promise((r) => setTimeout(r, 100));
  }
};

describe('local Functions host with a fixture app', () => {
  let host: RunningHost;
  const q = { in: uniqueName('echo-in'), out: uniqueName('echo-out'), fail: uniqueName('fail-in'), hang: uniqueName('hang-in') };
  let qs: QueueServiceClient;
  beforeAll(async () => {
    const conn = inject('azurite').connectionString;
    qs = QueueServiceClient.fromConnectionString(conn);
    host = await startHost({
      appDir: path.join(__dirname, '../../fixtures/host-app'),
      settings: { AzureWebJobsStorage: conn, ECHO_IN: q.in, ECHO_OUT: q.out, FAIL_IN: q.fail, HANG_IN: q.hang, TICK: '*/1 * * * * *', FUNCTIONS_MASTER_KEY: 'mk', FUNCTIONS_FUNCTION_KEY: 'fk' },
      port: 0,
      log: () => {},
    });
  });
  afterAll(async () => host?.stop());

  it('sees the registrations with their real binding metadata', () => {
    const byName = Object.fromEntries(host.registrations.map((r) => [r.name, r]));
    expect(byName.echo!.trigger).toMatchObject({ type: 'queueTrigger', queueName: '%ECHO_IN%', connection: 'AzureWebJobsStorage' });
    expect(Object.values(byName.echo!.bindings).some((b) => b.type === 'queue' && b.direction === 'out')).toBe(true);
    expect(byName.hello!.trigger).toMatchObject({ type: 'httpTrigger', route: 'things/{id}/{rest?}', authLevel: 'function' });
    expect(byName.tick!.trigger).toMatchObject({ type: 'timerTrigger', schedule: '%TICK%' });
  });

  it('fires timers on their NCRONTAB schedule', async () => {
    await until(() => calls().filter((c) => c.fn === 'tick').length >= 2);
  });

  it('delivers base64 JSON queue messages and sends extra queue outputs', async () => {
    await qs.getQueueClient(q.in).sendMessage(Buffer.from(JSON.stringify({ hello: 'world' })).toString('base64'));
    await until(async () => (await qs.getQueueClient(q.out).peekMessages()).peekedMessageItems.length > 0);
    const out = (await qs.getQueueClient(q.out).receiveMessages()).receivedMessageItems[0]!;
    expect(JSON.parse(Buffer.from(out.messageText, 'base64').toString())).toEqual({ echoed: { hello: 'world' } });
    expect(calls().find((c) => c.fn === 'echo')).toMatchObject({ message: { hello: 'world' }, dequeueCount: 1 });
  });

  it('retries a failing message with growing dequeue counts, then moves it to the poison queue', async () => {
    const poison = qs.getQueueClient(`${q.fail}-poison`);
    await qs.getQueueClient(q.fail).sendMessage(Buffer.from('"boom"').toString('base64'));
    await until(async () => (await poison.exists()) && (await poison.peekMessages()).peekedMessageItems.length > 0, 30_000);
    expect(
      calls()
        .filter((c) => c.fn === 'alwaysFails')
        .map((c) => c.dequeueCount),
    ).toEqual([1, 2, 3]);
  });

  it('fails an invocation that runs past host.json functionTimeout, so its message is retried and the queue keeps moving', async () => {
    const hang = qs.getQueueClient(q.hang);
    await hang.sendMessage(Buffer.from('"first"').toString('base64'));
    await until(() => calls().some((c) => c.fn === 'hangsOnce' && c.dequeueCount === 2), 20_000);
    await until(async () => (await hang.getProperties()).approximateMessagesCount === 0, 10_000);
    expect(
      calls()
        .filter((c) => c.fn === 'hangsOnce')
        .map((c) => c.dequeueCount),
    ).toEqual([1, 2]);
  });

  it('routes HTTP with params, methods and keys', async () => {
    const get = (p: string, init: RequestInit = {}) => fetch(`${host.url}/api/${p}`, init);
    const ok = await get('things/42/more?q=x', { headers: { 'x-functions-key': 'fk' } });
    expect(ok.status).toBe(201);
    expect(ok.headers.get('x-id')).toBe('42');
    expect(await ok.json()).toEqual({ id: '42', rest: 'more', q: 'x', body: null });
    const post = await get('things/7?code=fk', { method: 'POST', body: JSON.stringify({ a: 1 }) });
    const posted = await post.json();
    expect(posted.body, JSON.stringify(posted)).toEqual({ a: 1 });
    expect((await get('things/7')).status).toBe(401);
    expect((await get('things/7', { headers: { 'x-functions-key': 'nope' } })).status).toBe(401);
    expect((await get('things/7', { method: 'PUT', headers: { 'x-functions-key': 'fk' } })).status).toBe(405);
    expect((await get('nothing-here', { headers: { 'x-functions-key': 'fk' } })).status).toBe(404);
    expect(await (await get('open')).text()).toBe('hi');
    expect((await get('admin/thing', { method: 'DELETE', headers: { 'x-functions-key': 'fk' } })).status).toBe(401);
    expect((await get('admin/thing', { method: 'DELETE', headers: { 'x-functions-key': 'mk' } })).status).toBe(204);
  });
});
