import { expect } from 'vitest';
import type { HostStack } from './host-stack';

const TERMINAL = ['Completed', 'CompletedWithWarnings', 'Failed', 'Cancelled'];

interface JobBody {
  jobId: string;
  status: string;
  progress: { bytesDone: number; bytesTotal: number; segmentsDone: number; segmentsTotal: number; percent?: number };
}

/**
 * What a user may rely on in any one view of a job: the counters stay within their totals, and the percent is
 * exactly 100 when (and only when) the job Completed with work to measure.
 */
export function checkProgress(job: JobBody): void {
  const p = job.progress;
  const at = `job ${job.jobId} (${job.status}) ${JSON.stringify(p)}`;
  expect(p.bytesDone, at).toBeGreaterThanOrEqual(0);
  expect(p.segmentsDone, at).toBeGreaterThanOrEqual(0);
  if (p.bytesDone > 0) expect(p.bytesDone, at).toBeLessThanOrEqual(p.bytesTotal);
  expect(p.segmentsDone, at).toBeLessThanOrEqual(p.segmentsTotal);
  const completed = job.status === 'Completed' || job.status === 'CompletedWithWarnings';
  const hasWork = p.bytesTotal > 0 || p.segmentsTotal > 0;
  if (completed && hasWork) expect(p.percent, at).toBe(100);
  else expect(p.percent ?? 0, at).toBeLessThan(100);
}

/** Each counter and the percent never go back between two views of one job while it runs. */
function checkMonotonic(prev: JobBody, next: JobBody): void {
  const at = `job ${next.jobId}: ${JSON.stringify(prev.progress)} then ${JSON.stringify(next.progress)}`;
  for (const k of ['bytesDone', 'segmentsDone'] as const) expect(next.progress[k], `${k} of ${at}`).toBeGreaterThanOrEqual(prev.progress[k]);
  // A total, once planned, stays planned (an import may correct it to the data it found, never to nothing).
  for (const k of ['bytesTotal', 'segmentsTotal'] as const) if (prev.progress[k] > 0) expect(next.progress[k], `${k} of ${at}`).toBeGreaterThan(0);
  expect(next.progress.percent ?? 0, `percent of ${at}`).toBeGreaterThanOrEqual(prev.progress.percent ?? 0);
}

/**
 * Follows a job over the API until it ends, checking every view against the invariants and each one against
 * the one before. The e2e tests wait for their jobs through this, so every job they run is checked.
 */
export async function followJob(s: HostStack, jobId: string, timeoutMs = 60_000): Promise<any> {
  // eslint-disable-line @typescript-eslint/no-explicit-any
  const end = Date.now() + timeoutMs;
  let prev: JobBody | undefined;
  for (;;) {
    const r = await s.call('GET', `jobs/${jobId}`);
    expect(r.status).toBe(200);
    const job = r.body as JobBody;
    checkProgress(job);
    if (prev) checkMonotonic(prev, job);
    prev = job;
    if (TERMINAL.includes(job.status)) return job;
    if (Date.now() > end) throw new Error(`job ${jobId} still ${job.status}`);
    await new Promise((res) => setTimeout(res, 100));
  }
}

/** Every job the stack knows, checked once more at the end of a suite; returns how many were checked. */
export async function checkAllJobs(s: HostStack): Promise<number> {
  let n = 0;
  let continuation: string | undefined;
  do {
    const r = await s.call('GET', `jobs?top=200${continuation ? `&continuation=${encodeURIComponent(continuation)}` : ''}`);
    expect(r.status).toBe(200);
    for (const j of r.body.items as JobBody[]) {
      checkProgress(j);
      n++;
    }
    continuation = r.body.continuation;
  } while (continuation);
  return n;
}
