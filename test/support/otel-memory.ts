import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { AggregationTemporality, InMemoryMetricExporter, MeterProvider, PeriodicExportingMetricReader, type MetricData } from '@opentelemetry/sdk-metrics';
import { OtelTelemetry } from '../../src/core/adapters/otel/telemetry';

/**
 * The OpenTelemetry adapter on providers of its own with the SDK's in-memory exporters: spans as they end,
 * metrics when `collect` asks (the periodic reader's interval is an hour, so only a flush exports).
 */
export function memoryTelemetry() {
  const spanExporter = new InMemorySpanExporter();
  const tracerProvider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(spanExporter)] });
  const metricExporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
  const reader = new PeriodicExportingMetricReader({ exporter: metricExporter, exportIntervalMillis: 3_600_000 });
  const meterProvider = new MeterProvider({ readers: [reader] });
  const telemetry = new OtelTelemetry(tracerProvider.getTracer('vmbackup'), meterProvider.getMeter('vmbackup'), async () => {
    await tracerProvider.forceFlush();
    await reader.forceFlush();
  });
  return {
    telemetry,
    spans: (): ReadableSpan[] => spanExporter.getFinishedSpans(),
    /** Flushes, then the newest export's metrics (cumulative: everything so far). */
    async metrics(): Promise<MetricData[]> {
      await telemetry.flush();
      const all = metricExporter.getMetrics();
      return all.at(-1)?.scopeMetrics.flatMap((s) => s.metrics) ?? [];
    },
    async stop(): Promise<void> {
      await tracerProvider.shutdown();
      await meterProvider.shutdown();
    },
  };
}

export const metricNamed = (ms: MetricData[], name: string): MetricData | undefined => ms.find((m) => m.descriptor.name === name);
