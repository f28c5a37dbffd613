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
    // Two cores on CI. Three workers measured 801 s for the main pass against 814 s with two: no real gain for
    // more contention on Azurite and the emulator.
    maxWorkers: 2,
    reporters: ['default'],
  },
});
