import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startHostStack, type HostStack } from '../support/host-stack';
import { SUB } from '../support/emulator';
import { EmulatorState } from '../../src/emulator/arm/state';
import { fill } from '../../src/emulator/guest';
import { createRequire } from 'node:module';
import path from 'node:path';
import { InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { AggregationTemporality, InMemoryMetricExporter, PeriodicExportingMetricReader } from '@opentelemetry/sdk-metrics';
import { allTableRows, SECRET, telemetryTexts } from '../support/secrets';
import { connectionStringFor, ingestion, quietAzureMonitorEnv } from '../support/ingestion';

// The built app in the host loads its modules with Node's require; the distro is started through the same
// module instance first, with in-memory exporters beside Azure's, so the app's composition root finds it running.
type AzureMonitorModule = typeof import('../../src/core/adapters/otel/azure-monitor');
const builtAzureMonitor = (): AzureMonitorModule => createRequire(__filename)(path.resolve('dist/src/core/adapters/otel/azure-monitor.js')) as AzureMonitorModule;

const MIB = 1024 ** 2;

describe('no secret leaks into logs, rows or responses, even when steps fail', () => {
  let s: HostStack;
  const seen: string[] = [];
  const spans = new InMemorySpanExporter();
  const metricExporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
  const reader = new PeriodicExportingMetricReader({ exporter: metricExporter, exportIntervalMillis: 3_600_000 });
  let ingest: Awaited<ReturnType<typeof ingestion>>;
  let telemetry: ReturnType<AzureMonitorModule['startAzureMonitor']>;
  beforeAll(async () => {
    quietAzureMonitorEnv();
    ingest = await ingestion();
    telemetry = builtAzureMonitor().startAzureMonitor(connectionStringFor(ingest.url), {
      spanProcessors: [new SimpleSpanProcessor(spans)],
      metricReaders: [reader],
      exporter: { tlsOptions: { ca: ingest.ca }, disableOfflineStorage: true },
    });
    for (const m of ['log', 'info', 'warn', 'error'] as const) {
      const orig = console[m].bind(console);
      vi.spyOn(console, m).mockImplementation((...args: unknown[]) => {
        seen.push(args.map(String).join(' '));
        void orig;
      });
    }
    // The job fails on its second delivery instead of its fifth: the same path, a shorter test.
    // The steps log through their invocation context, which the host forwards (to Application Insights on Azure).
    s = await startHostStack({ VMBACKUP_MAX_DEQUEUE_COUNT: '2', APPLICATIONINSIGHTS_CONNECTION_STRING: connectionStringFor(ingest.url) }, { log: (line) => seen.push(line) });
    s.emulator.createVm({ subscriptionId: SUB, resourceGroup: 'sec', name: 'sec1', disks: [{ name: 'sec1-os', sizeBytes: 64 * MIB, lun: -1 }] });
  }, 180_000);
  afterAll(async () => {
    vi.restoreAllMocks();
    await builtAzureMonitor().stopAzureMonitor();
    ingest?.server.close();
    await s?.stop();
  });

  it('scans every job, point and item row, every response and every log line of a faulty run', { timeout: 120_000 }, async () => {
    const responses: string[] = [];
    const call = async (m: string, r: string, b?: unknown) => {
      const res = await s.call(m, r, b);
      responses.push(JSON.stringify(res.body));
      return res;
    };
    await call('POST', 'policies', { name: 'p', timeZone: 'UTC', schedule: { frequency: 'Daily', times: ['01:00'] }, retention: { dailyDays: 3 } });
    const until = async (jobId: string) => {
      for (let i = 0; i < 300; i++) {
        const j = await call('GET', `jobs/${jobId}`);
        if (['Completed', 'CompletedWithWarnings', 'Failed', 'Cancelled'].includes(j.body.status)) return j.body;
        await new Promise((r) => setTimeout(r, 200));
      }
      throw new Error('job did not end');
    };
    // Discovery is a job (202): the VMs are listed once it has run.
    await until((await call('POST', 'discovery')).body.jobId);
    const vm = (await call('GET', 'vms')).body.items[0];
    const reg = await call('POST', 'items/register', { vmIds: [vm.id], policyName: 'p' });
    await until(reg.body.jobs[0].jobId);
    fill(s.emulator.store, EmulatorState.key(s.emulator.state.vm(vm.id)!.osDiskId), 0, 8 * MIB, 1);
    // Every read of the snapshot data fails with a 403 (as an expired SAS would), so the step fails repeatedly
    // with errors whose URLs carry SAS signatures, until the job ends Failed.
    s.emulator.faults.inject({ plane: 'data', method: 'GET', status: 403, code: 'AuthenticationFailed', times: 10_000 });
    const bad = await call('POST', `items/${encodeURIComponent(vm.itemKey)}/backup`, {});
    const failed = await until(bad.body.jobId);
    expect(failed.status).toBe('Failed');
    s.emulator.faults.clear();
    const good = await call('POST', `items/${encodeURIComponent(vm.itemKey)}/backup`, {});
    expect((await until(good.body.jobId)).status).toBe('Completed');
    await call('GET', `items/${encodeURIComponent(vm.itemKey)}/recoveryPoints`);
    await call('GET', 'jobs');
    await call('GET', 'dashboard');

    const rows = await allTableRows(s.azurite.connectionString);
    expect(rows.length).toBeGreaterThan(5);
    expect(seen.length).toBeGreaterThan(0); // the failing step did log
    expect(seen.some((l) => l.includes('step failed; the job ends Failed'))).toBe(true); // through its invocation context
    // Telemetry: the spans and metrics in memory and what the exporter sent to the ingestion endpoint.
    await telemetry.flush();
    const failedSpans = spans.getFinishedSpans().filter((x) => x.attributes.jobId === bad.body.jobId && x.attributes['vmbackup.error.code']);
    expect(failedSpans.length).toBeGreaterThan(0); // the failing steps were traced
    expect(ingest.payloads.join('\n')).toContain(bad.body.jobId);
    const telemetryOut = [...telemetryTexts(spans.getFinishedSpans(), metricExporter.getMetrics()), ...ingest.payloads];
    for (const [where, texts] of [
      ['rows', rows],
      ['responses', responses],
      ['logs', seen],
      ['telemetry', telemetryOut],
    ] as const) {
      for (const t of texts) for (const re of SECRET) expect(re.test(t), `${where}: ${t.slice(0, 300)}`).toBe(false);
    }
  });
});
