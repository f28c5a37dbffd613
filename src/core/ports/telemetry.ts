import type { Job } from '../domain/model';

/** What one step span carries: the attributes operators filter on (jobId, itemKey, diskKey) and no message text. */
export interface StepInfo {
  jobId: string;
  /** The step's function name (backupCopy, restoreSegment...). */
  step: string;
  jobType?: string;
  itemKey?: string;
  diskKey?: string;
  segment?: number;
  attempt: number;
}

export interface StepSpan {
  /** Ends the span; `code` marks it failed with that error code (never the message: it may hold a URL). */
  end(outcome?: { code?: string; willRetry?: boolean }): void;
}

/** One item's newest recovery point, for the recovery-point age (RPO) gauge. */
export interface PointAge {
  itemKey: string;
  lastPointAt: Date;
}

/**
 * Traces, metrics and alert counts, kept behind a port so core never imports a telemetry SDK. The no-op is the
 * default; the composition root picks the OpenTelemetry adapter when Application Insights is configured.
 */
export interface Telemetry {
  /** False for the no-op: callers skip the reads only telemetry needs. */
  readonly recording: boolean;
  startStep(info: StepInfo): StepSpan;
  /** Once per job, when it reaches a terminal status: the job span, its duration, bytes and failure code. */
  jobEnded(job: Job): void;
  alertRaised(type: string): void;
  /** Registers the source of the recovery-point age gauge; read each time the metrics are collected. */
  observePointAges(read: () => Promise<PointAge[]>, clock: () => Date): void;
  flush(): Promise<void>;
}

const noSpan: StepSpan = { end() {} };

export const noTelemetry: Telemetry = {
  recording: false,
  startStep: () => noSpan,
  jobEnded() {},
  alertRaised() {},
  observePointAges() {},
  flush: async () => {},
};
