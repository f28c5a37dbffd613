export interface FaultRule {
  plane?: 'arm' | 'data';
  method?: string;
  /** Matched against the request path. */
  path?: RegExp;
  /** HTTP status to answer; 0 resets the connection. */
  status: number;
  code?: string;
  retryAfter?: number;
  /** How many matching requests fail (default 1). */
  times?: number;
  /** Let this many matching requests through before failing. */
  after?: number;
}

/** Faults injected at chosen requests, for reliability tests: 503 with Retry-After, 500, resets. */
export class FaultInjector {
  private rules: (FaultRule & { left: number; skip: number })[] = [];
  injected = 0;

  inject(rule: FaultRule): void {
    this.rules.push({ ...rule, left: rule.times ?? 1, skip: rule.after ?? 0 });
  }

  clear(): void {
    this.rules = [];
    this.lroRules = [];
  }

  private lroRules: (Omit<FaultRule, 'plane' | 'status' | 'retryAfter'> & { left: number; skip: number })[] = [];
  lroFailed = 0;

  /** The matching long-running operation is accepted, then ends with status Failed and this error code. */
  failLro(rule: Omit<FaultRule, 'plane' | 'status' | 'retryAfter'>): void {
    this.lroRules.push({ ...rule, left: rule.times ?? 1, skip: rule.after ?? 0 });
  }

  takeLro(method: string, path: string): { code: string; message: string } | undefined {
    for (const r of this.lroRules) {
      if (r.left <= 0 || (r.method && r.method !== method) || (r.path && !r.path.test(path))) continue;
      if (r.skip > 0) {
        r.skip--;
        continue;
      }
      r.left--;
      this.lroFailed++;
      return { code: r.code ?? 'InternalExecutionError', message: 'Injected long-running operation failure.' };
    }
    return undefined;
  }

  take(plane: 'arm' | 'data', method: string, path: string): { status: number; code: string; retryAfter?: number } | undefined {
    for (const r of this.rules) {
      if (r.left <= 0 || (r.plane && r.plane !== plane) || (r.method && r.method !== method) || (r.path && !r.path.test(path))) continue;
      if (r.skip > 0) {
        r.skip--;
        continue;
      }
      r.left--;
      this.injected++;
      return { status: r.status, code: r.code ?? (r.status === 503 ? 'ServerBusy' : 'InternalError'), retryAfter: r.retryAfter };
    }
    return undefined;
  }
}
