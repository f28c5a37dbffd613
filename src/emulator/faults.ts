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
    this.lags = [];
  }

  private lags: { plane?: 'arm' | 'data'; method?: string; path?: RegExp; ms: number; left: number }[] = [];

  /** The next `times` matching requests are answered `ms` late (a slow network or front end), then as usual. */
  lag(rule: { plane?: 'arm' | 'data'; method?: string; path?: RegExp; ms: number; times?: number }): void {
    this.lags.push({ ...rule, left: rule.times ?? 1 });
  }

  lagOf(plane: 'arm' | 'data', method: string, path: string): number {
    const r = this.lags.find((x) => x.left > 0 && (!x.plane || x.plane === plane) && (!x.method || x.method === method) && (!x.path || x.path.test(path)));
    if (!r) return 0;
    r.left--;
    return r.ms;
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
