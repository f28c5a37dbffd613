import type { z } from 'zod';
import type { Job } from '../domain/model';
import { PermanentStepError } from '../errors';

/** The stored shape of a kind's params or result: a JSON object. */
export type JobBagSchema<T> = z.ZodType<T>;

declare const checked: unique symbol;
/** Params that went through their kind's schema; createJob takes nothing else. */
export type CheckedParams = Record<string, unknown> & { readonly [checked]: true };

/**
 * The params a new job is created with, as its kind's schema reads them back. A value the schema refuses is a
 * bug of the caller, so it throws here, before any row exists, rather than failing a step later.
 */
export function newParams<T extends Record<string, unknown>>(schema: JobBagSchema<T>, value: T): CheckedParams {
  return schema.parse(value) as CheckedParams;
}

/**
 * A job's params read through its kind's schema. A row this version cannot read (written by a newer or a much
 * older one, or edited by hand) fails the step permanently with a code that says so, never with a TypeError
 * on a missing field somewhere deeper.
 */
export function paramsOf<T>(job: Job, schema: JobBagSchema<T>): T {
  return bagOf(job, 'params', job.params, schema);
}

/** The same for the job's result (the parts of it a step reads back). */
export function resultOf<T>(job: Job, schema: JobBagSchema<T>): T {
  return bagOf(job, 'result', job.result, schema);
}

function bagOf<T>(job: Job, what: 'params' | 'result', value: unknown, schema: JobBagSchema<T>): T {
  const r = schema.safeParse(value ?? {});
  if (r.success) return r.data;
  const issues = r.error.issues.map((i) => `${i.path.map(String).join('.') || what}: ${i.message}`).join('; ');
  const code = what === 'params' ? 'JobParamsInvalid' : 'JobResultInvalid';
  throw new PermanentStepError(
    code,
    `${job.type} job ${job.jobId} has ${what} this version cannot read (${issues}).`,
    'Start a new job for this operation; if the job was created by another version of vmbackup, run it with that version.',
  );
}
