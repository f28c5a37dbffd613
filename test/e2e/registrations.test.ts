import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { loadApp } from '../../src/local/host/load';
import { parseNcrontab } from '../../src/local/host/ncrontab';
import { KINDS } from '../../src/core/workflows/kinds';

describe("the app's registrations (built app, as the host sees them)", () => {
  const regs = loadApp(process.cwd());
  const settings = JSON.parse(readFileSync('local.settings.sample.json', 'utf8')).Values as Record<string, string>;
  const host = JSON.parse(readFileSync('host.json', 'utf8'));

  it('binds every trigger to settings that local.settings.sample.json lists, and to valid schedules', () => {
    expect(regs.length).toBeGreaterThan(20);
    for (const r of regs) {
      for (const v of Object.values(r.trigger)) {
        if (typeof v !== 'string') continue;
        for (const m of v.matchAll(/%([^%]+)%/g)) expect(settings, `${r.name} needs ${m[1]}`).toHaveProperty(m[1]!);
      }
      if (r.trigger.type === 'timerTrigger') {
        const expr = String(r.trigger.schedule).replace(/%([^%]+)%/g, (_m, n: string) => settings[n]!);
        expect(() => parseNcrontab(expr), r.name).not.toThrow();
      }
      if (r.trigger.type === 'queueTrigger') {
        expect(settings, `${r.name} connection`).toHaveProperty(String(r.trigger.connection));
        expect([...KINDS.queues], r.name).toContain(r.trigger.queueName);
      }
      if (r.trigger.type === 'httpTrigger') {
        expect(String(r.trigger.route), r.name).not.toMatch(/^\/|^api\//);
        expect(['anonymous', 'function', 'admin'], r.name).toContain(r.trigger.authLevel);
        // ui serves only the dashboard's static files; every call the page makes needs the function key.
        if (r.trigger.authLevel === 'anonymous') expect(['health', 'openapi', 'ui']).toContain(r.name);
      }
    }
  });

  it('has a queue trigger for every step queue, and host.json agrees with the settings', () => {
    const queues = regs.filter((r) => r.trigger.type === 'queueTrigger').map((r) => r.trigger.queueName);
    expect([...queues].sort()).toEqual([...KINDS.queues].sort());
    expect(String(host.extensions.queues.maxDequeueCount)).toBe(settings.VMBACKUP_MAX_DEQUEUE_COUNT);
    expect(host.extensions.queues.messageEncoding).toBe('base64');
  });
});
