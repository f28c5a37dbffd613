import { createHash } from 'node:crypto';
import { context, SpanKind, SpanStatusCode, trace, TraceFlags, type Attributes, type Context, type Meter, type Tracer } from '@opentelemetry/api';
import type { Job } from '../../domain/model';
import type { PointAge, StepInfo, StepSpan, Telemetry } from '../../ports/telemetry';

/** Instrument names: the alert rules in infra/azuredeploy.json query them by these names. */
export const METRICS = {
  bytesCopied: 'vmbackup.backup.bytes_copied',
  bytesRestored: 'vmbackup.restore.bytes_restored',
  jobDuration: 'vmbackup.job.duration',
  jobFailures: 'vmbackup.job.failures',
  pointAge: 'vmbackup.recovery_point.age',
  alerts: 'vmbackup.alerts',
} as const;

const hex = (s: string, chars: number): string => createHash('sha256').update(s).digest('hex').slice(0, chars);

/**
 * A job's steps run in different invocations, often on different instances, with nothing passed between them
 * but the job id. So the trace id is derived from the job id (W3C trace ids are 16 random-looking bytes,
 * https://www.w3.org/TR/trace-context/#trace-id): every step span, and the job span written when it ends, land
 * in the same trace, under one parent id derived the same way.
 */
export function jobTraceContext(jobId: string): Context {
  return trace.setSpanContext(context.active(), {
    traceId: hex(`vmbackup-job:${jobId}`, 32),
    spanId: hex(`vmbackup-job-span:${jobId}`, 16),
    traceFlags: TraceFlags.SAMPLED,
    isRemote: true,
  });
}

function stepAttributes(info: StepInfo): Attributes {
  const a: Attributes = { jobId: info.jobId, 'vmbackup.step': info.step, 'vmbackup.attempt': info.attempt };
  if (info.jobType) a['vmbackup.job.type'] = info.jobType;
  if (info.itemKey) a.itemKey = info.itemKey;
  if (info.diskKey) a.diskKey = info.diskKey;
  if (info.segment !== undefined) a['vmbackup.segment'] = info.segment;
  return a;
}

/** Telemetry on the OpenTelemetry API: whatever providers are registered (Azure Monitor, or a test's in-memory exporters). */
export class OtelTelemetry implements Telemetry {
  readonly recording = true;
  private readonly bytesCopied;
  private readonly bytesRestored;
  private readonly duration;
  private readonly failures;
  private readonly alerts;
  private ageSource?: { read: () => Promise<PointAge[]>; clock: () => Date };

  constructor(
    private readonly tracer: Tracer,
    meter: Meter,
    private readonly flushProviders: () => Promise<void> = async () => {},
  ) {
    this.bytesCopied = meter.createCounter(METRICS.bytesCopied, { unit: 'By', description: 'Bytes read from source disks by backup jobs' });
    this.bytesRestored = meter.createCounter(METRICS.bytesRestored, { unit: 'By', description: 'Bytes written into disks by restore jobs' });
    this.duration = meter.createHistogram(METRICS.jobDuration, { unit: 's', description: "Time from a job's creation to its end" });
    this.failures = meter.createCounter(METRICS.jobFailures, { description: 'Jobs that ended Failed, by error code' });
    this.alerts = meter.createCounter(METRICS.alerts, { description: 'Alerts raised, by type' });
    const pointAge = meter.createObservableGauge(METRICS.pointAge, { unit: 's', description: "Age of each protected item's newest recovery point (its current RPO)" });
    pointAge.addCallback(async (result) => {
      if (!this.ageSource) return;
      // A failed read reports nothing this round rather than failing the whole collection.
      const ages = await this.ageSource.read().catch(() => []);
      const now = this.ageSource.clock().getTime();
      for (const a of ages) result.observe(Math.max(0, (now - a.lastPointAt.getTime()) / 1000), { itemKey: a.itemKey });
    });
  }

  /**
   * INTERNAL, not CONSUMER: Azure Monitor makes a consumer span a request and names requests from messaging or
   * HTTP attributes, which a step has none of, so it would arrive nameless; an internal span arrives as an
   * in-process dependency under its own name, in its job's operation.
   */
  startStep(info: StepInfo): StepSpan {
    const span = this.tracer.startSpan(`${info.jobType ?? 'job'} ${info.step}`, { kind: SpanKind.INTERNAL, attributes: stepAttributes(info) }, jobTraceContext(info.jobId));
    return {
      end: (outcome = {}) => {
        if (outcome.code) {
          span.setAttribute('vmbackup.error.code', outcome.code);
          span.setAttribute('vmbackup.will_retry', !!outcome.willRetry);
          span.setStatus({ code: SpanStatusCode.ERROR, message: outcome.code });
        }
        span.end();
      },
    };
  }

  jobEnded(job: Job): void {
    const base: Attributes = { 'vmbackup.job.type': job.type, 'vmbackup.job.status': job.status };
    const end = job.endedAt ?? new Date();
    const span = this.tracer.startSpan(
      `job ${job.type}`,
      { kind: SpanKind.INTERNAL, startTime: job.createdAt, attributes: { ...base, jobId: job.jobId, ...(job.itemKey ? { itemKey: job.itemKey } : {}), 'vmbackup.bytes_done': job.bytesDone } },
      jobTraceContext(job.jobId),
    );
    if (job.status === 'Failed') {
      span.setAttribute('vmbackup.error.code', job.error?.code ?? 'Unknown');
      span.setStatus({ code: SpanStatusCode.ERROR, message: job.error?.code });
      this.failures.add(1, { 'vmbackup.job.type': job.type, 'vmbackup.error.code': job.error?.code ?? 'Unknown' });
    }
    span.end(end);
    this.duration.record(Math.max(0, (end.getTime() - job.createdAt.getTime()) / 1000), base);
    if (job.type === 'Backup' && job.bytesDone > 0) this.bytesCopied.add(job.bytesDone, base);
    if (job.type === 'Restore' && job.bytesDone > 0) this.bytesRestored.add(job.bytesDone, base);
  }

  alertRaised(type: string): void {
    this.alerts.add(1, { 'vmbackup.alert.type': type });
  }

  /** One source per process (the app builds its deps once); a later call replaces it, so no item is observed twice. */
  observePointAges(read: () => Promise<PointAge[]>, clock: () => Date): void {
    this.ageSource = { read, clock };
  }

  flush(): Promise<void> {
    return this.flushProviders();
  }
}
