import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ingestion, quietAzureMonitorEnv } from '../support/ingestion';
import { InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { AggregationTemporality, InMemoryMetricExporter, PeriodicExportingMetricReader } from '@opentelemetry/sdk-metrics';
import { startAppStack, type AppStack } from '../support/app-stack';
import { SUB } from '../support/emulator';
import { EmulatorState } from '../../src/emulator/arm/state';
import { fill } from '../../src/emulator/guest';
import { startAzureMonitor, stopAzureMonitor } from '../../src/core/adapters/otel/azure-monitor';
import { METRICS } from '../../src/core/adapters/otel/telemetry';
import { backupNow, requestRegistration } from '../../src/core/workflows/protection/protection';
import { requestRestore } from '../../src/core/workflows/restore/restore';
import { getJob } from '../../src/core/jobs/jobs';
import { itemKeyFor } from '../../src/core/store/layout';
import type { Job } from '../../src/core/domain/model';
import { secretsIn, telemetryTexts } from '../support/secrets';

const MIB = 1024 ** 2;

describe('telemetry through the Azure Monitor distro on the local Azure stack', () => {
  const spans = new InMemorySpanExporter();
  const metricExporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
  const reader = new PeriodicExportingMetricReader({ exporter: metricExporter, exportIntervalMillis: 3_600_000 });
  let ingest: Awaited<ReturnType<typeof ingestion>>;
  let s: AppStack;
  let backup: Job, restore: Job, failed: Job;

  beforeAll(async () => {
    quietAzureMonitorEnv();
    ingest = await ingestion();
    const cs = `InstrumentationKey=00000000-0000-0000-0000-000000000001;IngestionEndpoint=${ingest.url}`;
    // Started first with the test's in-memory exporters beside Azure's; the composition root below finds it running.
    const started = startAzureMonitor(cs, { spanProcessors: [new SimpleSpanProcessor(spans)], metricReaders: [reader], exporter: { tlsOptions: { ca: ingest.ca }, disableOfflineStorage: true } });
    s = await startAppStack({ APPLICATIONINSIGHTS_CONNECTION_STRING: cs, VMBACKUP_MAX_DEQUEUE_COUNT: '2' });
    expect(s.deps.telemetry).toBe(started);
    const vmId = s.emulator.createVm({
      subscriptionId: SUB,
      resourceGroup: 'tel',
      name: 'tel1',
      disks: [
        { name: 'tel1-os', sizeBytes: 64 * MIB, lun: -1 },
        { name: 'tel1-d0', sizeBytes: 32 * MIB, lun: 0 },
      ],
    }).id;
    const vm = s.emulator.state.vm(vmId)!;
    fill(s.emulator.store, EmulatorState.key(vm.osDiskId), 0, 8 * MIB, 1);
    fill(s.emulator.store, EmulatorState.key(vm.dataDisks[0]!.diskId), 4 * MIB, 4 * MIB, 2);
    const itemKey = itemKeyFor(vmId);
    await requestRegistration(s.deps, [vmId]);
    await s.drain();
    backup = await run(s, (await backupNow(s.deps, itemKey)).jobId);
    restore = await run(s, (await requestRestore(s.deps, { itemKey, pointId: backup.jobId, mode: 'newDisks', source: 'vault' })).jobId);
    // Every read of snapshot data answers 403 (as an expired SAS would): errors whose URLs carry signatures.
    fill(s.emulator.store, EmulatorState.key(vm.osDiskId), 16 * MIB, 4 * MIB, 3);
    s.emulator.faults.inject({ plane: 'data', method: 'GET', status: 403, code: 'AuthenticationFailed', times: 10_000 });
    failed = await run(s, (await backupNow(s.deps, itemKey)).jobId);
    s.emulator.faults.clear();
    await started.flush();
  }, 180_000);
  afterAll(async () => {
    await stopAzureMonitor();
    await s?.stop();
    ingest?.server.close();
  });

  it("records the backup's and the restore's steps as spans of one trace each, with jobId, itemKey and diskKey", () => {
    const of = (j: Job) => spans.getFinishedSpans().filter((x) => x.attributes.jobId === j.jobId);
    for (const [job, segment] of [
      [backup, 'Backup backupCopy'],
      [restore, 'Restore restoreSegment'],
    ] as const) {
      const list = of(job);
      expect(new Set(list.map((x) => x.spanContext().traceId)).size, job.type).toBe(1);
      expect(list.map((x) => x.name)).toContain(`job ${job.type}`);
      const segs = list.filter((x) => x.name === segment);
      expect(new Set(segs.map((x) => x.attributes.diskKey))).toEqual(new Set(['os', 'lun-0']));
      for (const x of list) expect(x.attributes.itemKey).toBe(backup.itemKey);
    }
    expect(failed.status).toBe('Failed');
    expect(of(failed).find((x) => x.name === 'job Backup')!.attributes['vmbackup.error.code']).toBe(failed.error!.code);
  });

  it('exports the bytes copied and restored, durations, failures by code and the recovery-point age, also to the ingestion endpoint', () => {
    const ms = metricExporter
      .getMetrics()
      .at(-1)!
      .scopeMetrics.flatMap((x) => x.metrics);
    const sum = (n: string) => ms.find((m) => m.descriptor.name === n)!.dataPoints.reduce((a, p) => a + (p.value as number), 0);
    expect(sum(METRICS.bytesCopied)).toBe(backup.bytesDone + failed.bytesDone);
    expect(sum(METRICS.bytesRestored)).toBe(restore.bytesDone);
    expect(ms.find((m) => m.descriptor.name === METRICS.jobFailures)!.dataPoints.map((p) => p.attributes['vmbackup.error.code'])).toEqual([failed.error!.code]);
    expect(ms.find((m) => m.descriptor.name === METRICS.jobDuration)!.dataPoints.length).toBeGreaterThanOrEqual(3);
    // Registered, not under a policy: no RPO to report. The gauge exists and reports only protected items.
    expect(ms.map((m) => m.descriptor.name)).toContain(METRICS.jobDuration);
    const sent = ingest.payloads.join('\n');
    for (const name of ['Backup backupCopy', 'Restore restoreSegment', 'job Backup', METRICS.bytesCopied, METRICS.bytesRestored, METRICS.jobFailures]) expect(sent, name).toContain(name);
    expect(sent).toContain(`"jobId":"${backup.jobId}"`);
    // Application Insights groups a job's telemetry by operation id: the job's trace id, on every step.
    const envelopes = ingest.payloads.flatMap((p) => JSON.parse(p) as { tags: Record<string, string>; data: { baseData: { name?: string; properties?: Record<string, string> } } }[]);
    const steps = envelopes.filter((e) => e.data.baseData.properties?.jobId === backup.jobId);
    expect(steps.length).toBeGreaterThanOrEqual(4);
    expect(new Set(steps.map((e) => e.tags['ai.operation.id'])).size).toBe(1);
    for (const e of steps) expect(e.data.baseData.name, JSON.stringify(e.data.baseData)).toMatch(/^(Backup \w+|job Backup)$/);
  });

  it('holds no secret, in memory or in what reached the ingestion endpoint, though the failing steps met SAS URLs', () => {
    const ms = metricExporter.getMetrics().flatMap((r) => r.scopeMetrics.flatMap((x) => x.metrics));
    const texts = [...telemetryTexts(spans.getFinishedSpans(), ms), ...ingest.payloads];
    expect(ingest.payloads.length).toBeGreaterThan(0);
    expect(secretsIn(texts)).toEqual([]);
  });
});

async function run(s: AppStack, jobId: string): Promise<Job> {
  await s.drain();
  return getJob(s.deps, jobId);
}
