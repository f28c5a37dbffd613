import { resolveSetting, type Registration } from './load';
import { nextOccurrence } from './ncrontab';
import type { Invoker } from './invocation';

export interface Timers {
  runTimer(name: string): Promise<void>;
  stop(): void;
}

/** Timer triggers on their NCRONTAB schedules (in WEBSITE_TIME_ZONE), each invocation under functionTimeout. */
export function startTimers(registrations: Registration[], settings: Record<string, string>, inv: Invoker, log: (line: string) => void): Timers {
  let stopping = false;
  const handles: NodeJS.Timeout[] = [];
  const runTimer = async (name: string): Promise<void> => {
    const r = registrations.find((x) => x.name === name && x.trigger.type === 'timerTrigger');
    if (!r) throw new Error(`no timer function named ${name}`);
    await inv.invoke(r, inv.context(r), { isPastDue: false, schedule: { adjustForDST: true }, scheduleStatus: {} });
  };
  for (const r of registrations.filter((x) => x.trigger.type === 'timerTrigger')) {
    const expr = resolveSetting(String(r.trigger.schedule), settings);
    const schedule = (): void => {
      if (stopping) return;
      const next = nextOccurrence(expr, new Date(), settings.WEBSITE_TIME_ZONE || 'UTC');
      const wait = (): void => {
        const ms = next.getTime() - Date.now();
        // setTimeout fires at once for delays over 2^31-1 ms (about 24.8 days): wait in steps instead.
        if (ms > 2 ** 31 - 1) return void handles.push(setTimeout(wait, 2 ** 31 - 1));
        handles.push(
          setTimeout(
            () => {
              runTimer(r.name)
                .catch((e) => log(`[${r.name}] failed: ${(e as Error).message}`))
                .finally(schedule);
            },
            Math.max(0, ms),
          ),
        );
      };
      wait();
    };
    schedule();
    if (r.trigger.runOnStartup) void runTimer(r.name).catch((e) => log(`[${r.name}] failed: ${(e as Error).message}`));
  }
  return {
    runTimer,
    stop() {
      stopping = true;
      handles.forEach(clearTimeout);
    },
  };
}
