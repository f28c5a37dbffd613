import { metrics, trace } from '@opentelemetry/api';
import { shutdownAzureMonitor, useAzureMonitor, type AzureMonitorOpenTelemetryOptions } from '@azure/monitor-opentelemetry';
import { OtelTelemetry } from './telemetry';

const SCOPE = 'vmbackup';
let started: OtelTelemetry | undefined;

/**
 * Starts the Azure Monitor OpenTelemetry distro once per process (it registers the global providers) and
 * returns telemetry on it. The HTTP and Azure SDK instrumentations stay off: their spans record request URLs,
 * and the app's data-plane URLs carry SAS signatures; the app's own spans carry ids and error codes only.
 * `extra` adds span processors and metric readers (the tests' in-memory exporters) beside the exporter, and
 * exporter options (the tests trust their loopback ingestion endpoint's certificate: the exporter sends HTTPS only).
 */
export function startAzureMonitor(
  connectionString: string,
  extra: Pick<AzureMonitorOpenTelemetryOptions, 'spanProcessors' | 'metricReaders'> & { exporter?: AzureMonitorOpenTelemetryOptions['azureMonitorExporterOptions'] } = {},
): OtelTelemetry {
  if (started) return started;
  const { exporter, ...readers } = extra;
  useAzureMonitor({
    azureMonitorExporterOptions: { ...exporter, connectionString },
    enableLiveMetrics: false,
    // Every job's trace whole: a span per step is a few per minute, far below what rate-limited sampling
    // (the distro's default, 5 traces a second) is for, and a sampled-out step would be a hole in its job.
    samplingRatio: 1,
    tracesPerSecond: 0,
    instrumentationOptions: { http: { enabled: false }, azureSdk: { enabled: false } },
    ...readers,
  });
  started = new OtelTelemetry(trace.getTracer(SCOPE), metrics.getMeter(SCOPE), async () => {
    // The providers behind the API proxies are the SDK's; each has forceFlush.
    const flushable = (p: unknown): p is { forceFlush(): Promise<void> } => typeof (p as { forceFlush?: unknown })?.forceFlush === 'function';
    const tp = (trace.getTracerProvider() as { getDelegate?: () => unknown }).getDelegate?.() ?? trace.getTracerProvider();
    const mp = metrics.getMeterProvider();
    await Promise.all([flushable(tp) ? tp.forceFlush() : undefined, flushable(mp) ? mp.forceFlush() : undefined]);
  });
  return started;
}

export async function stopAzureMonitor(): Promise<void> {
  if (!started) return;
  started = undefined;
  await shutdownAzureMonitor();
}
