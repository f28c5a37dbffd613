import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SpanStatusCode } from '@opentelemetry/api';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import type { Job } from '../../../src/core/domain/model';
import { backupNow } from '../../../src/core/workflows/protection/protection';
import { requestRestore } from '../../../src/core/workflows/restore/restore';
import { METRICS } from '../../../src/core/adapters/otel/telemetry';
import { withOps } from '../../../src/core/ops/wire';
import { HOUR_MS } from '../../../src/core/domain/time';
import { failing, memoryDeps, type MemoryStack } from '../../support/memory-deps';
import { DAILY_POLICY, finished, registeredVm, type TestVm } from '../../support/memory-fixtures';
import { createPolicy } from '../../../src/core/workflows/protection/policies';
import { memoryTelemetry, metricNamed } from '../../support/otel-memory';
import { SECRET, secretsIn, telemetryTexts } from '../../support/secrets';

// What a failing data-plane call says in the wild: the request URL, SAS signature included.
const LEAKY = 'PUT https://acct.blob.core.windows.net/vmbackup/backups/x/os/shard-0?sv=2024-08-04&sp=rw&sig=AbCdEf0123456789%2Bxyz failed with 403';

describe('telemetry of a backup and a restore (OpenTelemetry adapter, in-memory exporters)', () => {
  const otel = memoryTelemetry();
  let s: MemoryStack;
  let vm: TestVm;
  let backup: Job;
  let restore: Job;
  let failed: Job;

  beforeAll(async () => {
    // A stack on the same telemetry whose shard writes fail with a SAS URL in the error, until the job fails.
    // First: the stack wired last is the one the recovery-point age gauge reads.
    const bad = memoryDeps({ deps: (d) => withOps({ ...d, store: failing(d.store, 'putPages', () => new Error(LEAKY)) }, { telemetry: otel.telemetry }) });
    const badVm = await registeredVm(bad, 'vm2');
    const j = await backupNow(bad.deps, badVm.itemKey);
    await bad.drain({ maxDequeueCount: 2 });
    failed = await finished(bad, j.jobId, 'Failed');
    s = memoryDeps({ deps: (d) => withOps(d, { telemetry: otel.telemetry }) });
    await createPolicy(s.deps, DAILY_POLICY);
    vm = await registeredVm(s, 'vm1', { policyName: DAILY_POLICY.name });
    backup = await finishedAfterDrain(s, (await backupNow(s.deps, vm.itemKey)).jobId);
    restore = await finishedAfterDrain(s, (await requestRestore(s.deps, { itemKey: vm.itemKey, pointId: backup.jobId, mode: 'newDisks', source: 'vault' })).jobId);
    s.clock.advance(HOUR_MS);
  });
  afterAll(() => otel.stop());

  const of = (jobId: string): ReadableSpan[] => otel.spans().filter((x) => x.attributes.jobId === jobId);

  it('puts every step of the backup, and the job itself, into one trace with jobId, itemKey and diskKey', () => {
    const spans = of(backup.jobId);
    const names = spans.map((x) => x.name);
    expect(names).toContain('Backup backupSnapshot');
    expect(names).toContain('Backup backupFinalize');
    expect(names).toContain('job Backup');
    expect(new Set(spans.map((x) => x.spanContext().traceId)).size).toBe(1);
    const copies = spans.filter((x) => x.name === 'Backup backupCopy');
    // 32 MiB OS disk in 8 MiB segments, and the 24 MiB data disk: one span per segment delivery.
    expect(copies.length).toBeGreaterThanOrEqual(7);
    expect(new Set(copies.map((x) => x.attributes.diskKey))).toEqual(new Set(['os', 'lun-0']));
    for (const x of spans) expect(x.attributes.itemKey).toBe(vm.itemKey);
    for (const x of spans) expect(x.status.code).not.toBe(SpanStatusCode.ERROR);
    const job = spans.find((x) => x.name === 'job Backup')!;
    expect(job.attributes['vmbackup.job.status']).toBe('Completed');
  });

  it('gives the restore its own trace, with a span per disk segment', () => {
    const spans = of(restore.jobId);
    expect(new Set(spans.map((x) => x.spanContext().traceId)).size).toBe(1);
    expect(spans[0]!.spanContext().traceId).not.toBe(of(backup.jobId)[0]!.spanContext().traceId);
    const segments = spans.filter((x) => x.name === 'Restore restoreSegment');
    expect(new Set(segments.map((x) => x.attributes.diskKey))).toEqual(new Set(['os', 'lun-0']));
    expect(spans.map((x) => x.name)).toEqual(expect.arrayContaining(['Restore restoreStart', 'Restore restoreFinish', 'job Restore']));
  });

  it('marks the failing deliveries and the failed job with the error code, and counts the failure by code', async () => {
    const spans = of(failed.jobId);
    const errors = spans.filter((x) => x.status.code === SpanStatusCode.ERROR);
    expect(errors.map((x) => x.attributes['vmbackup.error.code'])).toContain(failed.error!.code);
    expect(spans.find((x) => x.name === 'job Backup')!.attributes['vmbackup.error.code']).toBe(failed.error!.code);
    const failures = metricNamed(await otel.metrics(), METRICS.jobFailures)!;
    expect(failures.dataPoints.map((p) => [p.attributes['vmbackup.job.type'], p.attributes['vmbackup.error.code'], p.value])).toEqual([['Backup', failed.error!.code, 1]]);
  });

  it("counts the bytes copied and restored, the jobs' durations, and each protected item's recovery-point age", async () => {
    const ms = await otel.metrics();
    const sum = (name: string) => metricNamed(ms, name)!.dataPoints.reduce((a, p) => a + (p.value as number), 0);
    // The failed backup read its bytes too before it failed: bytes copied counts the work of every backup job.
    expect(sum(METRICS.bytesCopied)).toBe(backup.bytesDone + failed.bytesDone);
    expect(backup.bytesDone).toBeGreaterThan(0);
    expect(sum(METRICS.bytesRestored)).toBe(restore.bytesDone);
    expect(restore.bytesDone).toBeGreaterThan(0);
    const durations = metricNamed(ms, METRICS.jobDuration)!.dataPoints.map((p) => `${p.attributes['vmbackup.job.type']}/${p.attributes['vmbackup.job.status']}`);
    expect(durations).toEqual(expect.arrayContaining(['Backup/Completed', 'Restore/Completed', 'Backup/Failed', 'Register/Completed']));
    const item = (await s.deps.repos.items.get(vm.itemKey))!.doc;
    const ages = metricNamed(ms, METRICS.pointAge)!.dataPoints.filter((p) => p.attributes.itemKey === vm.itemKey);
    expect(ages.map((p) => p.value)).toEqual([(s.clock.ms - item.lastBackupAt!.getTime()) / 1000]);
    expect(ages[0]!.value as number).toBeGreaterThanOrEqual(3600);
  });

  it('holds no secret: the scan reads every span and metric point, and would see the SAS the failing step met', async () => {
    const texts = telemetryTexts(otel.spans(), await otel.metrics());
    expect(texts.length).toBeGreaterThan(20);
    expect(secretsIn(texts)).toEqual([]);
    // The scan is not blind: the error the step met carries a signature it flags.
    expect(SECRET.some((re) => re.test(LEAKY))).toBe(true);
  });
});

async function finishedAfterDrain(s: MemoryStack, jobId: string): Promise<Job> {
  await s.drain();
  return finished(s, jobId);
}
