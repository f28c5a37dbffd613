import { randomUUID, randomBytes, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { QueueServiceClient } from '@azure/storage-queue';
// Loading the library is safe before the shim: it asks for @azure/functions-core only when the app registers.
import { HttpRequest, InvocationContext } from '@azure/functions';
import { loadApp, resolveSetting, type Registration } from './load';
import { nextOccurrence } from './ncrontab';

export interface HostOptions {
  appDir: string;
  settings: Record<string, string>;
  port?: number;
  host?: string;
  log?: (line: string) => void;
}

export interface RunningHost {
  url: string;
  registrations: Registration[];
  keys: { master: string; function: string };
  runTimer(name: string): Promise<void>;
  stop(): Promise<void>;
}

interface QueueSettings { batchSize: number; maxDequeueCount: number; visibilityTimeoutS: number; maxPollingIntervalMs: number; base64: boolean; functionTimeoutMs: number }

/** The app's errors name their kind; a conflict (the item is busy) or a transient one is a retry it expects. */
function expectedRetry(err: unknown): boolean {
  const kind = (err as { kind?: unknown } | null)?.kind;
  return kind === 'Conflict' || kind === 'Transient';
}

function hms(s: string | undefined, def: number): number {
  const m = s && /^(\d+):(\d+):(\d+)$/.exec(s);
  return m ? (Number(m[1]) * 3600 + Number(m[2]) * 60 + Number(m[3])) : def;
}

function readQueueSettings(appDir: string): QueueSettings {
  const hostJson = JSON.parse(readFileSync(path.join(appDir, 'host.json'), 'utf8')) as { functionTimeout?: string; extensions?: { queues?: Record<string, unknown> } };
  const q = hostJson.extensions?.queues ?? {};
  return {
    batchSize: Number(q.batchSize ?? 16),
    maxDequeueCount: Number(q.maxDequeueCount ?? 5),
    visibilityTimeoutS: hms(q.visibilityTimeout as string | undefined, 0),
    maxPollingIntervalMs: hms(q.maxPollingInterval as string | undefined, 60) * 1000,
    base64: (q.messageEncoding ?? 'base64') !== 'none',
    // Azure's default on the Consumption plan is 5 minutes; -1 means none.
    functionTimeoutMs: hostJson.functionTimeout === '-1' ? 0 : hms(hostJson.functionTimeout, 300) * 1000,
  };
}

/**
 * A route value percent-decoded once. A malformed sequence (%zz, a cut %4, bytes that are not UTF-8) is
 * passed on as sent, as ASP.NET Core's request decoder leaves what it cannot decode; the function then
 * refuses it as the caller's mistake. decodeURIComponent alone threw here, and the request never got an answer.
 */
export function decodeSegment(v: string): string {
  try {
    return decodeURIComponent(v);
  } catch {
    return v;
  }
}

/**
 * A development host for the app: loads it as the Functions host does and drives HTTP routes (with function
 * and admin keys), timers (NCRONTAB) and queue triggers (encoding, visibility, dequeue count, poison queue).
 */
export async function startHost(o: HostOptions): Promise<RunningHost> {
  const log = o.log ?? ((l: string) => console.log(l));
  for (const [k, v] of Object.entries(o.settings)) process.env[k] = v;
  const registrations = loadApp(o.appDir);
  const qs = readQueueSettings(o.appDir);
  const keys = {
    master: o.settings.FUNCTIONS_MASTER_KEY || randomBytes(24).toString('base64url'),
    function: o.settings.FUNCTIONS_FUNCTION_KEY || randomBytes(24).toString('base64url'),
  };
  let stopping = false;
  const inflight = new Set<Promise<unknown>>();
  const track = <T>(p: Promise<T>): Promise<T> => {
    inflight.add(p);
    void p.finally(() => inflight.delete(p)).catch(() => {});
    return p;
  };
  /**
   * host.json's functionTimeout, as the Functions host applies it: the invocation fails when it runs longer.
   * The runaway promise cannot be stopped in-process (Azure restarts the worker), but its failure frees the
   * queue poller, and the message comes back after its visibility timeout as after any failure.
   */
  const limited = <T>(name: string, p: Promise<T>): Promise<T> => {
    if (!qs.functionTimeoutMs) return p;
    let timer: NodeJS.Timeout | undefined;
    const expired = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`Timeout value of ${qs.functionTimeoutMs / 1000} s exceeded by function '${name}'`)), qs.functionTimeoutMs);
    });
    return Promise.race([p, expired]).finally(() => clearTimeout(timer));
  };
  const context = (r: Registration, triggerMetadata: Record<string, unknown> = {}) => {
    const invocationId = randomUUID();
    return new InvocationContext({
      invocationId,
      functionName: r.name,
      triggerMetadata,
      logHandler: (level, ...args) => log(`[${r.name}] ${level}: ${args.map(String).join(' ')}`),
    });
  };

  // ---- timers ----
  const timers: NodeJS.Timeout[] = [];
  const runTimer = async (name: string): Promise<void> => {
    const r = registrations.find((x) => x.name === name && x.trigger.type === 'timerTrigger');
    if (!r) throw new Error(`no timer function named ${name}`);
    await track(limited(r.name, Promise.resolve(r.handler({ isPastDue: false, schedule: { adjustForDST: true }, scheduleStatus: {} }, context(r)))));
  };
  for (const r of registrations.filter((x) => x.trigger.type === 'timerTrigger')) {
    const expr = resolveSetting(String(r.trigger.schedule), o.settings);
    const schedule = (): void => {
      if (stopping) return;
      const next = nextOccurrence(expr, new Date(), o.settings.WEBSITE_TIME_ZONE || 'UTC');
      const wait = (): void => {
        const ms = next.getTime() - Date.now();
        // setTimeout fires at once for delays over 2^31-1 ms (about 24.8 days): wait in steps instead.
        if (ms > 2 ** 31 - 1) return void timers.push(setTimeout(wait, 2 ** 31 - 1));
        timers.push(setTimeout(() => {
          runTimer(r.name).catch((e) => log(`[${r.name}] failed: ${(e as Error).message}`)).finally(schedule);
        }, Math.max(0, ms)));
      };
      wait();
    };
    schedule();
    if (r.trigger.runOnStartup) void runTimer(r.name);
  }

  // ---- queues ----
  const pollers: Promise<void>[] = [];
  for (const r of registrations.filter((x) => x.trigger.type === 'queueTrigger')) {
    const conn = o.settings[String(r.trigger.connection ?? 'AzureWebJobsStorage')];
    if (!conn) throw new Error(`function ${r.name}: the connection setting '${String(r.trigger.connection)}' is not set`);
    const service = QueueServiceClient.fromConnectionString(conn);
    const queueName = resolveSetting(String(r.trigger.queueName), o.settings);
    const queue = service.getQueueClient(queueName);
    const poison = service.getQueueClient(`${queueName}-poison`);
    await queue.createIfNotExists();
    pollers.push((async () => {
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
        await Promise.all(got.receivedMessageItems.map((m) => track((async () => {
          if (m.dequeueCount > qs.maxDequeueCount) {
            await poison.createIfNotExists();
            await poison.sendMessage(m.messageText);
            await queue.deleteMessage(m.messageId, m.popReceipt);
            return;
          }
          const text = qs.base64 ? Buffer.from(m.messageText, 'base64').toString('utf8') : m.messageText;
          let input: unknown = text;
          try { input = JSON.parse(text); } catch { /* not JSON: passed as a string, as the host does */ }
          try {
            const ctx = context(r, { id: m.messageId, dequeueCount: m.dequeueCount, insertionTime: m.insertedOn, expirationTime: m.expiresOn, nextVisibleTime: m.nextVisibleOn, popReceipt: m.popReceipt });
            await limited(r.name, Promise.resolve(r.handler(input, ctx)));
            await sendExtraOutputs(r, ctx);
            await queue.deleteMessage(m.messageId, m.popReceipt);
          } catch (err) {
            const last = m.dequeueCount >= qs.maxDequeueCount;
            // A redelivery the app asked for (its error says it is a conflict or transient, e.g. the item is
            // busy) is routine: info. Anything else, and the last delivery before the poison queue, is an error.
            if (!last && expectedRetry(err)) log(`[${r.name}] info: retrying (delivery ${m.dequeueCount} of ${qs.maxDequeueCount}): ${(err as Error).message}`);
            else log(`[${r.name}] error: failed (delivery ${m.dequeueCount} of ${qs.maxDequeueCount}${last ? ', to the poison queue' : ''}): ${(err as Error).message}`);
            if (last) {
              await poison.createIfNotExists();
              await poison.sendMessage(m.messageText);
              await queue.deleteMessage(m.messageId, m.popReceipt);
            } else if (qs.visibilityTimeoutS === 0) {
              await queue.updateMessage(m.messageId, m.popReceipt, undefined, 0).catch(() => {});
            }
          }
        })())));
      }
    })());
  }

  /** Queue outputs the handler set on context.extraOutputs, sent with the host's message encoding. */
  async function sendExtraOutputs(r: Registration, ctx: InstanceType<typeof InvocationContext>): Promise<void> {
    for (const [name, b] of Object.entries(r.bindings)) {
      if (b.direction !== 'out' || b.type !== 'queue' || name === '$return') continue;
      const value = ctx.extraOutputs.get(name);
      if (value === undefined) continue;
      const conn = o.settings[String(b.connection ?? 'AzureWebJobsStorage')];
      if (!conn) throw new Error(`function ${r.name}: output connection '${String(b.connection)}' is not set`);
      const out = QueueServiceClient.fromConnectionString(conn).getQueueClient(resolveSetting(String(b.queueName), o.settings));
      await out.createIfNotExists();
      for (const item of Array.isArray(value) ? value : [value]) {
        const text = typeof item === 'string' ? item : JSON.stringify(item);
        await out.sendMessage(qs.base64 ? Buffer.from(text).toString('base64') : text);
      }
    }
  }

  // ---- http ----
  const routes = registrations.filter((x) => x.trigger.type === 'httpTrigger').map((r) => {
    const route = String(r.trigger.route ?? r.name);
    const keysInRoute: string[] = [];
    const source = route.split('/').map((seg, i) => {
      const sep = i === 0 ? '' : '/';
      const m = /^\{(\*?)(\w+)(\??)(:[^}]*)?\}$/.exec(seg);
      if (!m) return sep + seg.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
      keysInRoute.push(m[2]!);
      // An optional or catch-all segment may be absent together with its slash.
      return m[1] ? `(?:${sep}(.*))?` : m[3] ? `(?:${sep}([^/]+))?` : `${sep}([^/]+)`;
    }).join('');
    return { r, re: new RegExp(`^${source}/?$`, 'i'), keysInRoute, methods: ((r.trigger.methods as string[] | undefined) ?? ['GET', 'POST']).map((m) => m.toUpperCase()), authLevel: String(r.trigger.authLevel ?? 'function') };
  });
  const same = (a: string, b: string): boolean => a.length === b.length && timingSafeEqual(Buffer.from(a), Buffer.from(b));
  const server: Server = createServer((req, res) => void track(handleHttp(req, res)));
  // Outlive the clients' keep-alive (4 s in Node's fetch) so a reused socket is never closed under a request.
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;
  /** The host's own answers carry the app's error shape too: code, message and what to do about it. */
  const send = (res: import('node:http').ServerResponse, status: number, code: string, message: string, recommendedAction: string, headers: Record<string, string> = {}): void => {
    const body = JSON.stringify({ error: { code, message, recommendedAction } });
    res.writeHead(status, { ...headers, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  };

  /** Every request gets an answer: a failure before the function runs must not leave the socket hanging. */
  async function handleHttp(req: IncomingMessage, res: import('node:http').ServerResponse): Promise<void> {
    try {
      await dispatchHttp(req, res);
    } catch (err) {
      log(`[http] unhandled: ${(err as Error).stack ?? err}`);
      if (!res.headersSent) send(res, 500, 'InternalError', 'The host failed to handle the request.', 'Retry the request; if it keeps failing, check the host log.');
      else res.destroy();
    }
  }

  async function dispatchHttp(req: IncomingMessage, res: import('node:http').ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', `http://${req.headers.host ?? 'localhost'}`);
    if (!url.pathname.startsWith('/api/')) return send(res, 404, 'NotFound', 'Routes live under /api/.', 'Call a route under /api/; GET /api/openapi.json lists them.');
    const sub = url.pathname.slice('/api/'.length);
    const matches = routes.map((x) => ({ x, m: x.re.exec(sub) })).filter((y) => y.m);
    if (matches.length === 0) return send(res, 404, 'NotFound', `No function serves /api/${sub}.`, 'Check the route against GET /api/openapi.json.');
    const hit = matches.find((y) => y.x.methods.includes(req.method ?? 'GET'));
    // RFC 9110 section 15.5.6: a 405 lists the methods the resource supports in Allow.
    const allow = [...new Set(matches.flatMap((y) => y.x.methods))].join(', ');
    if (!hit) return send(res, 405, 'MethodNotAllowed', `${req.method} is not allowed on /api/${sub}.`, `Use ${allow}.`, { allow });
    const key = (req.headers['x-functions-key'] as string | undefined) ?? url.searchParams.get('code') ?? '';
    const level = hit.x.authLevel;
    const allowed = level === 'anonymous' || (key !== '' && (same(key, keys.master) || (level === 'function' && same(key, keys.function))));
    if (!allowed) return send(res, 401, 'Unauthorized', 'A valid function key is required for this route.', 'Send the function key in the x-functions-key header (or ?code=).');
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const c of req) {
      size += (c as Buffer).length;
      if (size > 100 * 1024 * 1024) return send(res, 413, 'PayloadTooLarge', 'The request body is too large.', 'Send a smaller request body.');
      chunks.push(c as Buffer);
    }
    const params: Record<string, string> = {};
    hit.x.keysInRoute.forEach((k, i) => { const v = hit.m![i + 1]; if (v !== undefined && v !== '') params[k] = decodeSegment(v); });
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(req.headers)) if (typeof v === 'string') headers[k] = v;
    const request = new HttpRequest({ method: req.method, url: url.toString(), headers, query: Object.fromEntries(url.searchParams), params, body: { bytes: Buffer.concat(chunks) } });
    try {
      const out = (await hit.x.r.handler(request, context(hit.x.r))) as { status?: number; headers?: Record<string, string>; jsonBody?: unknown; body?: unknown } | undefined;
      const status = out?.status ?? 200;
      const h: Record<string, string> = { ...(out?.headers ?? {}) };
      let body: Buffer | string = '';
      if (out?.jsonBody !== undefined) { body = JSON.stringify(out.jsonBody); h['content-type'] ??= 'application/json'; }
      else if (typeof out?.body === 'string' || Buffer.isBuffer(out?.body)) body = out.body as string | Buffer;
      else if (out?.body instanceof Uint8Array) body = Buffer.from(out.body);
      res.writeHead(status, { ...h, 'content-length': Buffer.byteLength(body) });
      res.end(body);
    } catch (err) {
      log(`[${hit.x.r.name}] unhandled: ${(err as Error).stack ?? err}`);
      send(res, 500, 'InternalError', 'The function failed.', 'Retry later; if it keeps failing, see the host log.');
    }
  }

  await new Promise<void>((resolve) => server.listen(o.port ?? 7071, o.host ?? '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://${o.host ?? '127.0.0.1'}:${port}`,
    registrations,
    keys,
    runTimer,
    async stop() {
      stopping = true;
      timers.forEach(clearTimeout);
      server.closeAllConnections?.();
      await new Promise<void>((r) => server.close(() => r()));
      await Promise.allSettled([...inflight, ...pollers]);
    },
  };
}
