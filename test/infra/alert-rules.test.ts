import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { evaluate, evaluateVariables, resolveParameters, type ArmScope } from './arm-expr';
import { ALERT_TYPES } from '../../src/core/ops/alerts';
import { METRICS } from '../../src/core/adapters/otel/telemetry';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;
const template: Json = JSON.parse(readFileSync('infra/azuredeploy.json', 'utf8'));
const adapter = readFileSync('src/core/adapters/otel/telemetry.ts', 'utf8');

function scopeWith(given: Record<string, unknown> = {}, copyIndex?: number): ArmScope {
  const parameters = resolveParameters(template, given);
  return { parameters, variables: evaluateVariables(template, parameters), ...(copyIndex === undefined ? {} : { copyIndex: { '': copyIndex } }) };
}

/** Every scheduled query rule as ARM would create it: copy loops expanded, expressions evaluated. */
function rules(given: Record<string, unknown> = {}): { name: string; query: string; criterion: Json; severity: unknown }[] {
  const out: { name: string; query: string; criterion: Json; severity: unknown }[] = [];
  for (const r of template.resources.filter((x: Json) => x.type === 'Microsoft.Insights/scheduledQueryRules')) {
    const n = r.copy ? Number(evaluate(r.copy.count, scopeWith(given))) : 1;
    for (let i = 0; i < n; i++) {
      const s = scopeWith(given, r.copy ? i : undefined);
      const c = r.properties.criteria.allOf[0];
      out.push({
        name: String(evaluate(r.name, s)),
        query: String(evaluate(c.query, s)),
        criterion: c,
        severity: typeof r.properties.severity === 'string' ? evaluate(r.properties.severity, s) : r.properties.severity,
      });
    }
  }
  return out;
}

describe("Azure Monitor alert rules on the app's telemetry (infra/azuredeploy.json)", () => {
  it('has a rule for every alert the app raises: failed jobs from the log line, the others from the vmbackup.alerts counter', () => {
    const all = rules();
    const byType = new Map<string, string>();
    for (const r of all) for (const m of r.query.matchAll(/'(\w+)'/g)) if ((ALERT_TYPES as readonly string[]).includes(m[1]!)) byType.set(m[1]!, r.name);
    expect(all.some((r) => /failed-jobs$/.test(r.name))).toBe(true); // JobFailed: the traces rule the template test checks
    expect([...byType.keys()].sort()).toEqual(ALERT_TYPES.filter((t) => t !== 'JobFailed').sort());
    for (const r of all.filter((x) => x.query.includes(METRICS.alerts))) {
      // The rule reads the counter's type dimension under the name the adapter gives it.
      expect(r.query).toContain("customDimensions['vmbackup.alert.type']");
      expect(r.criterion).toMatchObject({ timeAggregation: 'Total', metricMeasureColumn: 'AggregatedValue', operator: 'GreaterThan', threshold: 0 });
      expect(r.query).toMatch(/summarize AggregatedValue = sum\(valueSum\) by alertType$/);
      expect([1, 2]).toContain(r.severity);
    }
    expect(adapter).toContain("'vmbackup.alert.type'");
  });

  it('alerts on the recovery-point age gauge above rpoAlertHours, per item', () => {
    const rpo = rules({ rpoAlertHours: 30 }).find((r) => r.name.endsWith('-rpo'))!;
    expect(rpo.query).toContain(`name == '${METRICS.pointAge}'`);
    expect(rpo.query).toMatch(/where AggregatedValue > 30 \* 3600$/);
    expect(rpo.criterion.dimensions).toEqual([{ name: 'itemKey', operator: 'Include', values: ['*'] }]);
    expect(adapter).toContain('{ itemKey: a.itemKey }'); // the dimension the rule splits by
  });

  it('passes the webhook to the app as a secure parameter, and the grace as a number', () => {
    expect(template.parameters.alertWebhookUrl.type).toBe('securestring');
    const site = template.resources.find((r: Json) => r.type === 'Microsoft.Web/sites');
    const env = Object.fromEntries(
      site.properties.siteConfig.appSettings.map((x: Json) => [x.name, evaluate(x.value, scopeWith({ alertWebhookUrl: 'https://hooks.example/x', missedBackupGraceMinutes: 90 }))]),
    );
    expect(env.VMBACKUP_ALERT_WEBHOOK_URL).toBe('https://hooks.example/x');
    expect(env.VMBACKUP_MISSED_BACKUP_GRACE_MINUTES).toBe('90');
  });
});
