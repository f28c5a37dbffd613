import { defineConfig } from 'vitest/config';
import { sharedAccountsSetting } from './src/local/azurite-accounts';

// The run's one Azurite (test/support/global-setup.ts, started in this process) inherits this: it serves an
// account per app stack besides the development account, so test files share it without sharing queues.
process.env.AZURITE_ACCOUNTS ??= sharedAccountsSetting();

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/support/global-setup.ts'],
    // Every test's timeout is at least 3x its time measured on a loaded 2-core machine: this default covers every
    // test under a minute (the longest measured 53 s), the slow ones set their own, and a hang still ends.
    testTimeout: 180_000,
    hookTimeout: 180_000,
    pool: 'forks',
    // Most of the suite's time is waiting (redelivery visibility, polls, scaled ARM delays), not CPU: three
    // workers on two cores keep the cores busy while a file waits.
    maxWorkers: 3,
    reporters: ['default'],
  },
});
