import { z } from 'zod';
import type { Job, JobType } from '../domain/model';

/** The message of most steps: the job id, the rest is on the job row. */
export const JobMessage = z.object({ jobId: z.string().min(1).max(100) });
export type JobMessage = z.infer<typeof JobMessage>;

/** One queue-triggered step of a kind. `D` is the dependencies type (Deps), kept generic so no cycle forms. */
export interface StepDef<D, M extends JobMessage = JobMessage> {
  /** The function name registered with the host. */
  name: string;
  queue: string;
  /** A message that does not parse is dropped with a log line, never retried forever. */
  message: z.ZodType<M>;
  run(deps: D, msg: M): Promise<void>;
}

/**
 * Everything the runtime needs to know about one kind of job: its steps, whether a user may cancel it, what to
 * undo after it fails, and how to restart it when the process running it died. The trigger registrations, the
 * local queue drain, the reconciler and the step runtime read kinds from one registry, so a new kind is one
 * folder under workflows/ and one line in workflows/kinds.ts.
 */
export interface JobKind<D> {
  type: JobType;
  /** The kind's input in job.params: new jobs are created through it, steps read it with paramsOf (params.ts). */
  params: z.ZodType<Record<string, unknown>>;
  // biome-ignore lint/suspicious/noExplicitAny: each step has its own message type
  steps: readonly StepDef<D, any>[];
  cancellable: boolean;
  /** Once, when the job ends Failed: release what it created or holds (best effort; the item lock is freed by the runtime). */
  cleanup?(deps: D, job: Job): Promise<void>;
  /** Idempotent re-cleaning of a job that failed or was cancelled in the last day (the reconciler's sweep). */
  sweep?(deps: D, job: Job): Promise<void>;
  /** What a stalled job needs sent again; default: its first step's message. */
  redrive?(deps: D, job: Job): Promise<void>;
  /** A periodic duty of the kind, run by every reconciler pass (e.g. unmounting mounts past their deadline). */
  tick?(deps: D, now: Date): Promise<void>;
  /** When a job that runs over many deliveries last saved progress: the reconciler counts a stall from it (default: its start). */
  progressAt?(job: Job): Date | undefined;
  /** Driven from outside the app (the command line): the reconciler gives it a day before calling it abandoned. */
  external?(job: Job): boolean;
}

export interface KindRegistry<D> {
  readonly kinds: readonly JobKind<D>[];
  /** Every step's queue: what the app creates at start and the host polls. */
  readonly queues: readonly string[];
  of(type: JobType): JobKind<D> | undefined;
}

export function kindRegistry<D>(kinds: readonly JobKind<D>[]): KindRegistry<D> {
  const byType = new Map(kinds.map((k) => [k.type, k]));
  if (byType.size !== kinds.length) throw new Error('two job kinds share a type');
  return { kinds, queues: kinds.flatMap((k) => k.steps.map((s) => s.queue)), of: (type) => byType.get(type) };
}
