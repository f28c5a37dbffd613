import { timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { HttpRequest } from '@azure/functions';
import type { Registration } from './load';
import type { Invoker } from './invocation';

/**
 * The front end's cut-off for an HTTP-triggered function: "Regardless of the function app timeout setting, 230
 * seconds is the maximum amount of time that an HTTP triggered function can take to respond to a request. This
 * limit exists because of the default idle timeout of Azure Load Balancer" (MicrosoftDocs/azure-docs
 * includes/functions-timeout-duration.md). What the client then gets: "If a function that uses the HTTP trigger
 * doesn't complete within 230 seconds, the Azure Load Balancer will time out and return an HTTP 502 error. The
 * function will continue running but will be unable to return an HTTP response" (MicrosoftDocs/azure-docs
 * articles/azure-functions/functions-bindings-http-webhook-trigger.md, "Limits"). Users also report 500 and 504
 * at this point (MicrosoftDocs/azure-docs#94418, #112130; Azure/Azure-Functions#1477): the documented 502 is
 * what is modelled, and a client must treat any of them as "the answer is lost, the work may go on".
 */
export const HTTP_CUT_OFF_SECONDS = 230;

/** The front end's answer is its own, not the app's JSON error shape. */
const CUT_OFF_BODY = '502 Bad Gateway: the front end stopped waiting for the function to respond.';

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

interface Route {
  r: Registration;
  re: RegExp;
  keysInRoute: string[];
  methods: string[];
  authLevel: string;
}

function compileRoute(r: Registration): Route {
  const route = String(r.trigger.route ?? r.name);
  const keysInRoute: string[] = [];
  const source = route
    .split('/')
    .map((seg, i) => {
      const sep = i === 0 ? '' : '/';
      const m = /^\{(\*?)(\w+)(\??)(:[^}]*)?\}$/.exec(seg);
      if (!m) return sep + seg.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
      keysInRoute.push(m[2]!);
      // An optional or catch-all segment may be absent together with its slash.
      return m[1] ? `(?:${sep}(.*))?` : m[3] ? `(?:${sep}([^/]+))?` : `${sep}([^/]+)`;
    })
    .join('');
  return {
    r,
    re: new RegExp(`^${source}/?$`, 'i'),
    keysInRoute,
    methods: ((r.trigger.methods as string[] | undefined) ?? ['GET', 'POST']).map((m) => m.toUpperCase()),
    authLevel: String(r.trigger.authLevel ?? 'function'),
  };
}

/** The host's own answers carry the app's error shape too: code, message and what to do about it. */
function send(res: ServerResponse, status: number, code: string, message: string, recommendedAction: string, headers: Record<string, string> = {}): void {
  const body = JSON.stringify({ error: { code, message, recommendedAction } });
  res.writeHead(status, { ...headers, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

type HandlerOutput = { status?: number; headers?: Record<string, string>; jsonBody?: unknown; body?: unknown } | undefined;

function writeOutput(res: ServerResponse, out: HandlerOutput): void {
  const h: Record<string, string> = { ...(out?.headers ?? {}) };
  let body: Buffer | string = '';
  if (out?.jsonBody !== undefined) {
    body = JSON.stringify(out.jsonBody);
    h['content-type'] ??= 'application/json';
  } else if (typeof out?.body === 'string' || Buffer.isBuffer(out?.body)) body = out.body as string | Buffer;
  else if (out?.body instanceof Uint8Array) body = Buffer.from(out.body);
  res.writeHead(out?.status ?? 200, { ...h, 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

export interface HttpOptions {
  keys: { master: string; function: string };
  timeScale: number;
  log: (line: string) => void;
}

/** HTTP triggers under /api/ with their routes, methods and auth levels, behind the front end's cut-off. */
export function httpServer(registrations: Registration[], inv: Invoker, o: HttpOptions): Server {
  const routes = registrations.filter((x) => x.trigger.type === 'httpTrigger').map(compileRoute);
  const cutOffMs = (HTTP_CUT_OFF_SECONDS * 1000) / o.timeScale;
  const same = (a: string, b: string): boolean => a.length === b.length && timingSafeEqual(Buffer.from(a), Buffer.from(b));

  /** The invocation, raced against the front end: past the cut-off the client gets 502 and the function runs on. */
  async function respond(res: ServerResponse, r: Registration, request: HttpRequest): Promise<void> {
    const ctx = inv.context(r);
    const invocation = inv.invoke(r, ctx, request);
    let timer: NodeJS.Timeout | undefined;
    const cutOff = new Promise<'cut'>((resolve) => {
      timer = setTimeout(() => resolve('cut'), cutOffMs);
    });
    const first = await Promise.race([
      invocation.then(
        (out) => ({ out }),
        (err: unknown) => ({ err }),
      ),
      cutOff,
    ]).finally(() => clearTimeout(timer));
    if (first === 'cut') {
      o.log(
        `[${r.name}] warning: no response within ${HTTP_CUT_OFF_SECONDS} s${o.timeScale === 1 ? '' : ` (${(cutOffMs / 1000).toFixed(2)} s at time scale ${o.timeScale})`}; the client got 502, the invocation goes on`,
      );
      res.writeHead(502, { 'content-type': 'text/plain; charset=utf-8', 'content-length': Buffer.byteLength(CUT_OFF_BODY) });
      res.end(CUT_OFF_BODY);
      // Awaited so the host's stop() and the request's tracking see the invocation end, as Azure's worker would.
      await invocation.then(
        () => o.log(`[${r.name}] info: the invocation finished after the cut-off; its response is dropped`),
        (err: unknown) => o.log(`[${r.name}] error: the invocation failed after the cut-off: ${(err as Error).message}`),
      );
      return;
    }
    if ('err' in first) {
      o.log(`[${r.name}] unhandled: ${(first.err as Error).stack ?? first.err}`);
      return send(res, 500, 'InternalError', 'The function failed.', 'Retry later; if it keeps failing, see the host log.');
    }
    writeOutput(res, first.out as HandlerOutput);
  }

  async function dispatch(req: IncomingMessage, res: ServerResponse): Promise<void> {
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
    const allowed = level === 'anonymous' || (key !== '' && (same(key, o.keys.master) || (level === 'function' && same(key, o.keys.function))));
    if (!allowed) return send(res, 401, 'Unauthorized', 'A valid function key is required for this route.', 'Send the function key in the x-functions-key header (or ?code=).');
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const c of req) {
      size += (c as Buffer).length;
      if (size > 100 * 1024 * 1024) return send(res, 413, 'PayloadTooLarge', 'The request body is too large.', 'Send a smaller request body.');
      chunks.push(c as Buffer);
    }
    const params: Record<string, string> = {};
    hit.x.keysInRoute.forEach((k, i) => {
      const v = hit.m![i + 1];
      if (v !== undefined && v !== '') params[k] = decodeSegment(v);
    });
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(req.headers)) if (typeof v === 'string') headers[k] = v;
    const request = new HttpRequest({ method: req.method, url: url.toString(), headers, query: Object.fromEntries(url.searchParams), params, body: { bytes: Buffer.concat(chunks) } });
    await respond(res, hit.x.r, request);
  }

  /** Every request gets an answer: a failure before the function runs must not leave the socket hanging. */
  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    try {
      await dispatch(req, res);
    } catch (err) {
      o.log(`[http] unhandled: ${(err as Error).stack ?? err}`);
      if (!res.headersSent) send(res, 500, 'InternalError', 'The host failed to handle the request.', 'Retry the request; if it keeps failing, check the host log.');
      else res.destroy();
    }
  }

  const server = createServer((req, res) => void inv.track(handle(req, res)));
  // Outlive the clients' keep-alive (4 s in Node's fetch) so a reused socket is never closed under a request.
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;
  return server;
}
