import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { startHostStack, type HostStack } from '../support/host-stack';

const ROUTES: [string, string][] = [
  ['POST', 'policies'], ['PUT', 'policies/{name}'], ['DELETE', 'policies/{name}'], ['GET', 'policies/{name}'],
  ['POST', 'items/register'], ['POST', 'items/protect'], ['GET', 'items/{item}'], ['POST', 'items/{item}/backup'],
  ['POST', 'items/{item}/stop'], ['GET', 'items/{item}/recoveryPoints'], ['POST', 'items/{item}/recoveryPoints/{point}/restore'],
  ['POST', 'items/{item}/recoveryPoints/{point}/verify'], ['DELETE', 'items/{item}/recoveryPoints/{point}'],
  ['GET', 'jobs?top={name}&type={point}'], ['GET', 'jobs/{job}'], ['POST', 'jobs/{job}/cancel'],
];

const segment = fc.oneof(
  fc.string({ minLength: 1, maxLength: 40 }),
  fc.constantFrom('..', '%2e%2e', 'vm;a;b;c', 'vm;x/y', '8638204636385281-abc', 'a'.repeat(600), 'nightly', '%00', '😀', 'x?y#z'),
);
const body = fc.oneof(
  fc.anything({ maxDepth: 3 }),
  fc.constantFrom('{', 'null', '[]', '"x"', '{"vmIds":"nope"}', '{"mode":"replaceDisks"}', '{"retainUntil":"yesterday"}', 'x'.repeat(300 * 1024)),
);

describe('every HTTP route under random input', () => {
  let s: HostStack;
  beforeAll(async () => { s = await startHostStack(); }, 60_000);
  afterAll(async () => s?.stop());

  it('answers only 400/401/404/405/409/413 with an error code, never a 500, and changes nothing', { timeout: 120_000 }, async () => {
    const before = (await s.call('GET', 'jobs')).body.items.length;
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...ROUTES), segment, segment, body, async ([method, template], a, b, payload) => {
        const route = template.replace('{name}', encodeURIComponent(a)).replace('{item}', encodeURIComponent(a)).replace('{point}', encodeURIComponent(b)).replace('{job}', encodeURIComponent(b));
        const res = await s.call(method, route, method === 'GET' || method === 'DELETE' ? undefined : typeof payload === 'string' ? payload : JSON.stringify(payload ?? null));
        expect([400, 401, 404, 405, 409, 413], `${method} ${route} -> ${res.status} ${JSON.stringify(res.body).slice(0, 200)}`).toContain(res.status);
        expect(typeof res.body?.error?.code, `${method} ${route}`).toBe('string');
      }),
      { numRuns: 300, seed: 2026 },
    );
    expect((await s.call('GET', 'jobs')).body.items.length).toBe(before);
    expect((await s.call('GET', 'policies')).body.items).toEqual([]);
  });
});
