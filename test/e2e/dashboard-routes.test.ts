import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHostStack, type HostStack } from '../support/host-stack';

describe("the dashboard's routes through the local host: the page and the policy preview", () => {
  let s: HostStack;
  beforeAll(async () => {
    s = await startHostStack();
  }, 60_000);
  afterAll(async () => s?.stop());

  const raw = (p: string) => fetch(`${s.host.url}/api/${p}`, { redirect: 'manual' });

  it('serves the built page without a key, sends /api/ui to the folder URL, and nothing outside dist/web', async () => {
    const bare = await raw('ui');
    expect(bare.status).toBe(302);
    expect(bare.headers.get('location')).toBe('/api/ui/');
    const index = await raw('ui/');
    expect(index.status).toBe(200);
    expect(index.headers.get('content-type')).toMatch(/^text\/html/);
    expect(index.headers.get('content-security-policy')).toContain("default-src 'self'");
    const html = await index.text();
    expect(html).toContain('<script type="module" src="main.js"></script>');
    // Offline: the page loads nothing from another origin.
    expect(html).not.toMatch(/(src|href)="(https?:)?\/\//);
    const js = await raw('ui/pages/jobs.js');
    expect(js.status).toBe(200);
    expect(js.headers.get('content-type')).toMatch(/^text\/javascript/);
    expect(await js.text()).toContain('export async function jobsPage');
    expect((await raw('ui/styles.css')).headers.get('content-type')).toMatch(/^text\/css/);
    for (const p of ['ui/nope.js', 'ui/..%2F..%2Fpackage.json', 'ui/%2e%2e/%2e%2e/src/functions/ui.js', 'ui/pages/../../../host.json']) {
      const r = await raw(p);
      expect(r.status, p).toBe(404);
    }
  });

  it('previews a policy: the next runs in its time zone and the points retention keeps over a year', async () => {
    const policy = {
      name: 'p',
      timeZone: 'America/New_York',
      schedule: { frequency: 'Weekly', daysOfWeek: ['Monday', 'Thursday'], times: ['23:30'] },
      retention: { dailyDays: 7, weekly: { weeks: 4, dayOfWeek: 'Monday' }, monthly: { months: 12, dayOfMonth: 'Last' } },
    };
    const r = await s.call('POST', 'policies/preview', policy);
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect(r.body.timeZone).toBe('America/New_York');
    expect(r.body.nextRuns).toHaveLength(10);
    for (const run of r.body.nextRuns as { at: string; local: string }[]) {
      // 23:30 in New York is 03:30 or 04:30 UTC the next day, on a Tuesday or a Friday.
      const at = new Date(run.at);
      expect(['03:30', '04:30']).toContain(run.at.slice(11, 16));
      expect([2, 5]).toContain(at.getUTCDay());
      expect(run.local).toMatch(/ 23:30 (EST|EDT)$/);
    }
    const kept = r.body.retainedAfterOneYear;
    expect(kept.scheduledCount).toBeGreaterThanOrEqual(104);
    expect(kept.scheduledCount).toBeLessThanOrEqual(106);
    // Every kept point is counted once, under its highest tier; a year holds at least 12 month-end points.
    expect(kept.byTier.monthly).toBeGreaterThanOrEqual(12);
    expect(kept.byTier.monthly + kept.byTier.weekly + kept.byTier.daily).toBe(kept.count);
    expect(kept.points).toHaveLength(kept.count);
    expect(kept.count).toBeLessThan(kept.scheduledCount);
    // Nothing was saved.
    expect((await s.call('GET', 'policies')).body.items).toEqual([]);
  });

  it('answers an invalid or malformed preview with 400 and a code, and needs the key', async () => {
    const bad = await s.call('POST', 'policies/preview', {
      name: 'p',
      timeZone: 'Mars/Base',
      schedule: { frequency: 'Hourly', intervalHours: 5, windowStart: '08:00', windowHours: 12 },
      retention: { dailyDays: 0 },
    });
    expect(bad.status).toBe(400);
    expect(bad.body.error.code).toBe('InvalidRequest');
    expect(bad.body.error.recommendedAction).toMatch(/Correct the fields/);
    const issues = bad.body.error.details.issues as string[];
    expect(issues.some((i) => i.startsWith('timeZone'))).toBe(true);
    expect(issues.some((i) => i.startsWith('schedule.intervalHours'))).toBe(true);
    expect(issues.some((i) => i.startsWith('retention.dailyDays'))).toBe(true);
    expect((await s.call('POST', 'policies/preview', '{nope')).body.error.code).toBe('InvalidJson');
    expect((await s.call('POST', 'policies/preview', [])).status).toBe(400);
    expect((await s.call('POST', 'policies/preview', { name: 'p' }, '')).status).toBe(401);
  });

  it('is described in the OpenAPI document with the policy schema as its body', async () => {
    const doc = (await s.call('GET', 'openapi.json', undefined, '')).body;
    const op = doc.paths['/policies/preview'].post;
    expect(op.security).toEqual([{ functionKey: [] }]);
    expect(op.requestBody.content['application/json'].schema.properties.timeZone).toBeDefined();
  });
});
