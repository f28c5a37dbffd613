/**
 * The error taxonomy. Every error a caller or an operator can see has a stable code, a message that says what
 * happened, and a recommended action. HTTP mapping lives in one place (httpStatusFor).
 */
export type ErrorKind = 'Validation' | 'NotFound' | 'Conflict' | 'Transient' | 'PermanentStep' | 'PayloadTooLarge' | 'UnsupportedMediaType' | 'Unauthorized' | 'Forbidden';

export abstract class VmBackupError extends Error {
  abstract readonly kind: ErrorKind;
  constructor(
    readonly code: string,
    message: string,
    readonly recommendedAction: string,
    readonly details?: unknown,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

/** The caller sent something invalid: 400. */
export class ValidationError extends VmBackupError {
  readonly kind = 'Validation' as const;
  constructor(message: string, recommendedAction = 'Correct the request and send it again.', details?: unknown, code = 'InvalidRequest') {
    super(code, message, recommendedAction, details);
  }
}

/** The thing named does not exist: 404. */
export class NotFoundError extends VmBackupError {
  readonly kind = 'NotFound' as const;
  constructor(code: string, message: string, recommendedAction: string) {
    super(code, message, recommendedAction);
  }
}

/** The request collides with the current state (another operation in progress, name in use): 409. */
export class ConflictError extends VmBackupError {
  readonly kind = 'Conflict' as const;
  constructor(code: string, message: string, recommendedAction: string, details?: unknown) {
    super(code, message, recommendedAction, details);
  }
}

export class PayloadTooLargeError extends VmBackupError {
  readonly kind = 'PayloadTooLarge' as const;
  constructor(message: string) {
    super('PayloadTooLarge', message, 'Send a smaller request body.');
  }
}

/** A body in a format the route does not read (a JSON route sent text/plain or a form): 415. */
export class UnsupportedMediaTypeError extends VmBackupError {
  readonly kind = 'UnsupportedMediaType' as const;
  constructor(message: string) {
    super('UnsupportedMediaType', message, "Send the body as JSON with the header 'Content-Type: application/json'.");
  }
}

export class UnauthorizedError extends VmBackupError {
  readonly kind = 'Unauthorized' as const;
  constructor(message = 'A valid key is required for this route.', code = 'Unauthorized', recommendedAction = 'Send the function key in the x-functions-key header.', details?: unknown) {
    super(code, message, recommendedAction, details);
  }
}

/** The caller is known but its role does not allow the operation: 403. */
export class ForbiddenError extends VmBackupError {
  readonly kind = 'Forbidden' as const;
  constructor(code: string, message: string, recommendedAction: string, details?: unknown) {
    super(code, message, recommendedAction, details);
  }
}

/** Worth retrying as is: throttling, timeouts, a lost race. The queue redelivers the step. */
export class TransientError extends VmBackupError {
  readonly kind = 'Transient' as const;
  constructor(
    code: string,
    message: string,
    readonly retryAfterMs?: number,
  ) {
    super(code, message, 'No action needed: the step is retried automatically.');
  }
}

/** Retrying cannot help: the job fails with this code, message and recommended action. */
export class PermanentStepError extends VmBackupError {
  readonly kind = 'PermanentStep' as const;
  constructor(code: string, message: string, recommendedAction: string) {
    super(code, message, recommendedAction);
  }
}

/**
 * An error from a dependency (storage, ARM) that a caller can simply retry: throttling, a 5xx, a timeout or a
 * reset connection. Recognised by shape, since src/core does not import the Azure SDKs.
 */
export function isTransientDependencyError(err: unknown): boolean {
  if (!err || typeof err !== 'object' || err instanceof VmBackupError) return false;
  const e = err as { name?: string; statusCode?: unknown; code?: unknown };
  if (typeof e.statusCode === 'number') return e.statusCode === 408 || e.statusCode === 429 || e.statusCode >= 500;
  return e.name === 'AbortError' || ['ECONNRESET', 'ETIMEDOUT', 'ECONNREFUSED', 'ESOCKETTIMEDOUT', 'EPIPE', 'REQUEST_SEND_ERROR'].includes(String(e.code));
}

/**
 * ARM throttling: "When you reach the limit, you receive the HTTP status code 429 Too many requests. The response
 * includes a Retry-After value, which specifies the number of seconds your application should wait"
 * (https://learn.microsoft.com/azure/azure-resource-manager/management/request-limits-and-throttling). Compute
 * throttles with the same 429 (code OperationNotAllowed, details TooManyRequests, Retry-After of up to 1200 s:
 * https://learn.microsoft.com/troubleshoot/azure/virtual-machines/troubleshooting-throttling-errors); its 409s
 * are refusals of another kind (snapshot limits: adapters/azure/snapshot-info.ts). Never the caller's fault and
 * never a reason to fail a job: the step waits the Retry-After (jobs/arm-wait.ts).
 */
export function armThrottled(message: string, retryAfterMs: number): TransientError {
  return new TransientError('ArmThrottled', message, retryAfterMs);
}

/**
 * Run Command runs one script at a time per VM and answers 409 Conflict to the next while one runs
 * (azure-compute-docs articles/virtual-machines/linux/run-command.md, Restrictions): this script was refused for
 * as long as its caller waited, so it never ran. The script ahead of it (an aborted freeze, say) ends on its own.
 */
export function runCommandBusy(message: string): TransientError {
  return new TransientError('RunCommandBusy', message);
}

/**
 * ARM's Retry-After stretched by up to as much again at random, for waits slept in process (a thaw, a poll):
 * callers throttled together then drift apart instead of coming back at once (jobs/arm-wait.ts does the same
 * for queue delays).
 */
export const jitteredRetryMs = (retryAfterMs: number): number => retryAfterMs * (1 + Math.random());

/** ARM's wait of a throttled call: the adapters' ArmThrottled, or by shape a raw 429 that got past them. */
export function armThrottleOf(err: unknown): { retryAfterMs: number; message: string } | undefined {
  if (err instanceof TransientError) return err.code === 'ArmThrottled' ? { retryAfterMs: err.retryAfterMs ?? DEFAULT_ARM_WAIT_MS, message: err.message } : undefined;
  if (err instanceof VmBackupError || (err as { statusCode?: unknown })?.statusCode !== 429) return undefined;
  const headers = (err as { response?: { headers?: { get?(name: string): string | undefined } } }).response?.headers;
  return { retryAfterMs: retryAfterMsOf((name) => headers?.get?.(name)) ?? DEFAULT_ARM_WAIT_MS, message: String((err as Error).message ?? 'throttled') };
}

/** When a 429 names no wait (Azure says it always does). */
const DEFAULT_ARM_WAIT_MS = 60_000;

/** The wait a throttled answer asks for: `retry-after-ms` (some services), else `Retry-After` in seconds or as a date. */
export function retryAfterMsOf(header: (name: string) => string | null | undefined, now = Date.now()): number | undefined {
  for (const name of ['retry-after-ms', 'x-ms-retry-after-ms']) {
    const ms = Number(header(name) ?? Number.NaN);
    if (Number.isFinite(ms) && ms >= 0) return ms;
  }
  const v = header('retry-after');
  if (!v) return undefined;
  const seconds = Number(v);
  if (Number.isFinite(seconds) && seconds >= 0) return seconds * 1000;
  const at = Date.parse(v);
  return Number.isFinite(at) ? Math.max(0, at - now) : undefined;
}

export function httpStatusFor(err: unknown): number {
  if (!(err instanceof VmBackupError)) return isTransientDependencyError(err) ? 503 : 500;
  switch (err.kind) {
    case 'Validation':
      return 400;
    case 'Unauthorized':
      return 401;
    case 'Forbidden':
      return 403;
    case 'NotFound':
      return 404;
    case 'Conflict':
      return 409;
    case 'PayloadTooLarge':
      return 413;
    case 'UnsupportedMediaType':
      return 415;
    case 'Transient':
      return 503;
    case 'PermanentStep':
      return 422;
  }
}

export interface ErrorBody {
  error: { code: string; message: string; recommendedAction: string; details?: unknown };
}

export function errorBody(err: unknown): ErrorBody {
  if (err instanceof VmBackupError) {
    const body: ErrorBody = { error: { code: err.code, message: err.message, recommendedAction: err.recommendedAction } };
    if (err.details !== undefined) body.error.details = err.details;
    return body;
  }
  // Internal failures never echo their text: it may carry URLs with SAS tokens or connection details.
  if (isTransientDependencyError(err)) {
    return {
      error: {
        code: 'ServiceBusy',
        message: 'The backup storage or Azure did not answer in time.',
        recommendedAction: 'Retry the request after the time in the Retry-After header.',
      },
    };
  }
  return {
    error: {
      code: 'InternalError',
      message: 'The operation failed because of an internal error.',
      recommendedAction: 'Retry the operation. If it keeps failing, check the function app logs.',
    },
  };
}

// One builder per code the API answers for a missing or busy thing, so the same code always says the same.

export function itemNotFound(itemKey: string): NotFoundError {
  return new NotFoundError('ProtectedItemNotFound', `No protected item '${itemKey}' exists.`, 'List the protected items and use one of their keys, or register the VM first.');
}

export function busy(itemKey: string): ConflictError {
  return new ConflictError('AnotherOperationInProgress', `Another operation is in progress on '${itemKey}'.`, 'Wait for the running job to finish (see the jobs list), then try again.');
}

export function jobNotFound(jobId: string): NotFoundError {
  return new NotFoundError('JobNotFound', `No job '${jobId}' exists.`, 'List the jobs to find the id of the one you want.');
}

export function policyNotFound(name: string): NotFoundError {
  return new NotFoundError('PolicyNotFound', `No backup policy named '${name}' exists.`, 'List the policies to see which exist, or create this one.');
}

export function pointNotFound(pointId: string): NotFoundError {
  return new NotFoundError('RecoveryPointNotFound', `No recovery point '${pointId}' exists for this item.`, 'List the recovery points of the item and pick one of them.');
}

/**
 * Why a replace of a VM's disks is refused before anything on the VM is touched (AZURE-FIDELITY B2): each is a
 * rule Azure enforces on the VM update, checked first so the VM is never left deallocated by a rejected update.
 */
export type ReplaceRefusal =
  | 'ReplaceVmNotFound'
  | 'ReplaceVmNotReady'
  | 'ReplaceEphemeralOsDisk'
  | 'ReplaceNoOsDisk'
  | 'ReplaceGenerationMismatch'
  | 'ReplaceSecurityTypeMismatch'
  | 'ReplaceSizeMismatch'
  | 'ReplaceZoneMismatch'
  | 'ReplaceEncryptionSetMismatch'
  | 'ReplaceDiskStateInvalid'
  | 'ReplaceVmChanged';

/** At request time a 409 the caller sees at once; inside the job a permanent step error the job ends with. */
export function replaceRefused(code: ReplaceRefusal, message: string, recommendedAction: string, atRequest: boolean): ConflictError | PermanentStepError {
  return atRequest ? new ConflictError(code, message, recommendedAction) : new PermanentStepError(code, message, recommendedAction);
}
