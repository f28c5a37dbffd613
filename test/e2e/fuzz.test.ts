import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { TableClient, TableServiceClient } from '@azure/data-tables';
import { startHostStack, TEST_KEYS, type HostStack } from '../support/host-stack';

/** Every route with parameters, a query or a body ({a} and {b} are path parameters). */
const ROUTES: [string, string][] = [
  ['POST', 'policies'],
  ['GET', 'policies'],
  ['PUT', 'policies/{a}'],
  ['DELETE', 'policies/{a}'],
  ['GET', 'policies/{a}'],
  ['POST', 'policies/preview'],
  ['POST', 'items/register'],
  ['POST', 'items/protect'],
  ['GET', 'items'],
  ['GET', 'items/{a}'],
  ['POST', 'items/{a}/backup'],
  ['POST', 'items/{a}/stop'],
  ['POST', 'items/{a}/export'],
  ['POST', 'items/{a}/import'],
  ['GET', 'items/{a}/recoveryPoints'],
  ['GET', 'items/{a}/recoveryPoints/{b}'],
  ['POST', 'items/{a}/recoveryPoints/{b}/restore'],
  ['POST', 'items/{a}/recoveryPoints/{b}/verify'],
  ['POST', 'items/{a}/recoveryPoints/{b}/undelete'],
  ['DELETE', 'items/{a}/recoveryPoints/{b}'],
  ['GET', 'jobs'],
  ['GET', 'jobs/{b}'],
  ['POST', 'jobs/{b}/cancel'],
  ['GET', 'vms'],
  ['GET', 'dashboard'],
];

/** A path segment: encoded once, or sent raw with a malformed encoding or a control character. */
const segment = fc.oneof(
  fc.string({ minLength: 1, maxLength: 40 }).map(encodeURIComponent),
  fc.constantFrom('..', '%2e%2e', 'vm;a;b;c', 'vm;x/y', '8638204636385281-abc', 'nightly', '😀', 'x?y#z').map(encodeURIComponent),
  fc.constantFrom('%zz', '%', '%4', '%E0%A4%A', '%C3%28', '%FF%FE', '%00', '%0a', '%7f', 'vm%3Ba%3Bb%3B%zz', 'a%2Fb', '%252e', 'a'.repeat(4000)),
);
const queryValue = fc.oneof(
  fc.string({ maxLength: 30 }).map(encodeURIComponent),
  fc.constantFrom('%zz', '%', '%00', '-1', '1e9', 'NaN', 'true', '[]', '{}', 'x'.repeat(3000), 'Z2FyYmFnZQ', Buffer.from('{"nextPartitionKey":1}').toString('base64')),
);
const query = fc.option(
  fc.array(fc.tuple(fc.constantFrom('top', 'type', 'status', 'itemKey', 'from', 'to', 'continuation', 'includeDeleted', 'confirmationToken', 'x', '%zz'), queryValue), { minLength: 1, maxLength: 3 }),
  { nil: undefined },
);
const body = fc.oneof(
  fc.anything({ maxDepth: 3 }).map((v) => JSON.stringify(v ?? null)),
  fc.constantFrom(
    '{',
    'null',
    '[]',
    '"x"',
    '{"vmIds":"nope"}',
    '{"mode":"replaceDisks"}',
    '{"retainUntil":"yesterday"}',
    '{"deleteData":"yes"}',
    '{"container":"../x"}',
    '\u0000\u0001',
    'x'.repeat(300 * 1024),
  ),
);
/**
 * Header values a client can send (no CR/LF/NUL, which fetch itself refuses), some long. One huge header at
 * most: past Node's 16 KiB of headers the server answers 431 before any route, as Azure's front end does.
 */
const headerValue = fc.oneof(fc.string({ unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)), maxLength: 60 }), fc.constant('k'.repeat(1000)), fc.constant('\t tab'));
const hugeValue = fc.oneof(headerValue, fc.constant('k'.repeat(8000)));
const headers = fc.record(
  {
    'content-type': fc.option(
      fc.oneof(
        fc.constantFrom('application/json', 'text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=z', 'application/xml', 'json', '*/*', 'application/json; charset=utf-16'),
        headerValue,
      ),
      { nil: undefined },
    ),
    'idempotency-key': fc.option(headerValue, { nil: undefined }),
    'x-extra': fc.option(hugeValue, { nil: undefined }),
  },
  { requiredKeys: [] },
);

/** Every row of every table with its ETag: any write in between changes this. */
async function tableState(connectionString: string): Promise<string[]> {
  const rows: string[] = [];
  for await (const t of TableServiceClient.fromConnectionString(connectionString, { allowInsecureConnection: true }).listTables()) {
    for await (const e of TableClient.fromConnectionString(connectionString, t.name!, { allowInsecureConnection: true }).listEntities()) rows.push(`${t.name}/${e.partitionKey}/${e.rowKey}@${e.etag}`);
  }
  return rows.sort();
}

describe('every HTTP route under random input', () => {
  let s: HostStack;
  beforeAll(async () => {
    s = await startHostStack();
    // Something to change: a policy whose name the segments use.
    expect((await s.call('POST', 'policies', { name: 'nightly', timeZone: 'UTC', schedule: { frequency: 'Daily', times: ['02:00'] }, retention: { dailyDays: 7 } })).status).toBe(201);
  }, 60_000);
  afterAll(async () => s?.stop());

  it('answers every request within 5 s with a 4xx and a JSON error (a GET may answer 200), and changes no table row', { timeout: 300_000 }, async () => {
    const before = await tableState(s.azurite.connectionString);
    let requests = 0;
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...ROUTES), segment, segment, query, body, headers, async ([method, template], a, b, q, payload, h) => {
        const path = template.replace('{a}', a).replace('{b}', b);
        const qs = q ? `?${q.map(([k, v]) => `${k}=${v}`).join('&')}` : '';
        const sent: Record<string, string> = { 'x-functions-key': TEST_KEYS.FUNCTIONS_FUNCTION_KEY };
        for (const [k, v] of Object.entries(h)) if (v !== undefined) sent[k] = v;
        const what = `${method} ${path.slice(0, 200)}${qs.slice(0, 100)} ${JSON.stringify(h).slice(0, 300)}`;
        requests++;
        // The abort is the check that an answer comes: a request with none fails here instead of hanging.
        const res = await fetch(`${s.host.url}/api/${path}${qs}`, {
          method,
          headers: sent,
          body: method === 'GET' || method === 'DELETE' ? undefined : new TextEncoder().encode(payload),
          signal: AbortSignal.timeout(5000),
        });
        const text = await res.text();
        let parsed: any; // eslint-disable-line @typescript-eslint/no-explicit-any
        try {
          parsed = JSON.parse(text);
        } catch {
          throw new Error(`${what} -> ${res.status} with a body that is not JSON: ${text.slice(0, 100)}`);
        }
        if (method === 'GET' && res.status === 200) return;
        expect([400, 404, 405, 409, 413, 415], `${what} -> ${res.status} ${text.slice(0, 200)}`).toContain(res.status);
        expect(typeof parsed?.error?.code, what).toBe('string');
        expect(typeof parsed?.error?.message, what).toBe('string');
      }),
      { numRuns: 800, seed: 2026 },
    );
    console.log(`fuzz: ${requests} requests, every one answered within 5 s with a JSON body`);
    expect(requests).toBeGreaterThanOrEqual(800);
    expect(await tableState(s.azurite.connectionString)).toEqual(before);
  });
});
