import type { HttpRequest, HttpResponseInit, InvocationContext } from '@azure/functions';
import type { z } from 'zod';
import { errorBody, httpStatusFor, PayloadTooLargeError, UnsupportedMediaTypeError, ValidationError, VmBackupError } from '../../core/errors';
import { ConfigError } from '../../core/config';
import type { Deps } from '../../core/jobs/deps';
import { redact } from '../../core/redact';
import { checkIdempotencyKey } from '../../core/jobs/idempotency';
import { getDeps } from './runtime';
import { authorize, resolveCaller, type Caller } from './auth';
import { requirementOf } from './roles';

export const MAX_BODY_BYTES = 256 * 1024;

export type Handler = (req: HttpRequest, ctx: InvocationContext, deps: Deps, caller: Caller) => Promise<HttpResponseInit>;

/**
 * Every route: the caller and its role first (401/403, before the body is read), then the handler; typed errors
 * to their status and body; anything else is a 500 that says nothing inside.
 */
export function route(handler: Handler): (req: HttpRequest, ctx: InvocationContext) => Promise<HttpResponseInit> {
  return async (req, ctx) => {
    try {
      const deps = await getDeps();
      const caller = resolveCaller(req, deps.config);
      authorize(caller, requirementOf(ctx.functionName), ctx.functionName);
      return await handler(req, ctx, deps, caller);
    } catch (err) {
      if (err instanceof ConfigError) {
        ctx.error(err.message);
        return { status: 503, jsonBody: { error: { code: 'ConfigurationInvalid', message: err.message, recommendedAction: 'Fix the app settings listed and restart the app.' } } };
      }
      const status = httpStatusFor(err);
      if (status >= 500 && !(err instanceof VmBackupError)) ctx.error(redact(`unhandled error: ${(err as Error)?.stack ?? String(err)}`));
      // A dependency that failed transiently: the caller retries, as after any 503.
      return { status, jsonBody: errorBody(err), ...(status === 503 ? { headers: { 'Retry-After': '5' } } : {}) };
    }
  };
}

/**
 * JSON-bodied routes read JSON only: a body declared as anything else (text/plain, a form, which is what
 * `curl -d` sends by default) is refused with 415 instead of being parsed anyway. A request without a
 * Content-Type header is read as JSON, so a bare client that sends none keeps working.
 */
export function requireJsonContentType(req: HttpRequest): void {
  const declared = req.headers.get('content-type');
  if (declared === null) return;
  const type = declared.split(';')[0]!.trim().toLowerCase();
  if (type === 'application/json' || /^application\/[a-z0-9.+-]+\+json$/.test(type)) return;
  throw new UnsupportedMediaTypeError(`The body is declared as '${declared.slice(0, 100)}'; this route reads JSON only.`);
}

export async function readJson(req: HttpRequest): Promise<unknown> {
  requireJsonContentType(req);
  const declared = Number(req.headers.get('content-length') ?? 0);
  if (declared > MAX_BODY_BYTES) throw new PayloadTooLargeError(`The request body is ${declared} bytes; the limit is ${MAX_BODY_BYTES}.`);
  const text = await req.text();
  if (Buffer.byteLength(text) > MAX_BODY_BYTES) throw new PayloadTooLargeError(`The request body is over ${MAX_BODY_BYTES} bytes.`);
  if (text.trim() === '') return {};
  try {
    return JSON.parse(text);
  } catch {
    throw new ValidationError('The request body is not valid JSON.', 'Send a JSON object with Content-Type: application/json.', undefined, 'InvalidJson');
  }
}

/** Where a validated value came from, so a 400 names it right: the JSON body, the query string or a path segment. */
export type Where = 'body' | 'query' | { path: string };

/**
 * A route parameter, validated. A '%' left in it is a percent-encoding the host could not decode (%zz, a cut
 * sequence, bytes that are not UTF-8): no item key, policy name or id contains one, so it is refused as
 * such rather than looked up. The message says so, since "not found" would send the caller the wrong way.
 */
export function pathParam<T extends z.ZodType>(req: HttpRequest, name: string, schema: T): z.infer<T> {
  const v = req.params[name];
  if (typeof v === 'string' && /%|[\u0000-\u001f\u007f]/.test(v)) {
    throw new ValidationError(
      `The '${name}' in the path holds a malformed percent-encoding or a control character.`,
      `Encode the ${name} once with encodeURIComponent (UTF-8) and send the request again.`,
      { parameter: name },
      'InvalidPathParameter',
    );
  }
  return validate(schema, v, { path: name });
}

export function validate<T extends z.ZodType>(schema: T, input: unknown, where: Where = 'body'): z.infer<T> {
  const r = schema.safeParse(input);
  if (!r.success) {
    const place = typeof where === 'string' ? where : 'path';
    const issues = r.error.issues.map((i) => {
      const inner = i.path.map(String).join('.');
      const name = typeof where === 'string' ? inner || `(${where})` : [where.path, inner].filter(Boolean).join('.');
      return { in: place, path: name, message: i.message };
    });
    const label = (i: { path: string }): string => (place === 'body' ? i.path : `${i.path} (${place})`);
    throw new ValidationError(
      `The request is invalid: ${issues.map((i) => `${label(i)}: ${i.message}`).join('; ')}`.slice(0, 1000),
      place === 'path'
        ? 'Correct the value in the URL path and send the request again.'
        : place === 'query'
          ? 'Correct the query parameters listed and send the request again.'
          : 'Correct the fields listed and send the request again.',
      { issues },
    );
  }
  return r.data;
}

export async function body<T extends z.ZodType>(req: HttpRequest, schema: T): Promise<z.infer<T>> {
  return validate(schema, await readJson(req));
}

export function query<T extends z.ZodType>(req: HttpRequest, schema: T): z.infer<T> {
  return validate(schema, Object.fromEntries(req.query.entries()), 'query');
}

export function accepted(req: HttpRequest, jobId: string, extra: Record<string, unknown> = {}): HttpResponseInit {
  const base = new URL(req.url);
  return { status: 202, headers: { Location: `${base.origin}/api/jobs/${jobId}` }, jsonBody: { jobId, ...extra } };
}

/** The optional Idempotency-Key header of job-creating POSTs, checked; a retry with it gets the same job. */
export function idempotencyKey(req: HttpRequest): string | undefined {
  return checkIdempotencyKey(req.headers.get('idempotency-key') ?? undefined);
}
