import { startDemo } from './demo';

/** When `npm start` began (scripts/start.mjs passes it), so the elapsed time counts the build too. */
const t0 = Number(process.env.VMBACKUP_START_T0 ?? Date.now());
const say = (step: string): void => console.log(`[${((Date.now() - t0) / 1000).toFixed(1).padStart(5)} s] ${step}`);

/** `npm start`: the local Azure stack, three demo VMs, and the app in the local host. */
async function main(): Promise<void> {
  const demo = await startDemo({
    // Both for tests and for a second stack beside the first: a data folder and (with *_PORT=0) free ports.
    dataDir: process.env.VMBACKUP_DATA_DIR ?? '.data',
    schedulerCron: process.env.VMBACKUP_DEMO_SCHEDULER_CRON,
    progress: say,
    // Failures and errors only: a retry the app expects is logged by the host at info level and not shown.
    log: (l) => {
      if (/\b(failed|error|unhandled)\b/i.test(l) && !/\binfo:/.test(l)) console.log(l);
    },
  });
  say('ready');
  console.log(demo.summary);
  const stop = async (): Promise<void> => {
    say('stopping: saving the emulator state...');
    await demo.stop();
    process.exit(0);
  };
  process.once('SIGINT', () => void stop());
  process.once('SIGTERM', () => void stop());
}

void main().catch((err) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
