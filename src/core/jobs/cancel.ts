import type { Deps } from './deps';
import { isTerminal } from './jobs';

const POLL_EVERY_MS = 1000;

/**
 * "Has this job been cancelled?", read from its row at most once a second however often it is asked (the
 * engines ask before every cell). A missing or finished job counts as cancelled: nothing should go on for it.
 * Paced by the process's monotonic clock, not deps.clock: this limits reads, it is not domain time.
 */
export function cancelPoller(deps: Deps, jobId: string): () => Promise<boolean> {
  let last = -Infinity;
  let cancelled = false;
  return async () => {
    const now = performance.now();
    if (!cancelled && now - last >= POLL_EVERY_MS) {
      last = now;
      const j = (await deps.repos.jobs.get(jobId))?.doc;
      cancelled = !j || !!j.cancelRequested || isTerminal(j);
    }
    return cancelled;
  };
}
