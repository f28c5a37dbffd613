import { defineConfig } from 'vitest/config';
import { sharedAccountsSetting } from './src/local/azurite-accounts';

// The run's one Azurite (test/support/global-setup.ts, started in this process) inherits this: it serves an
// account per app stack besides the development account, so test files share it without sharing queues.
process.env.AZURITE_ACCOUNTS ??= sharedAccountsSetting();

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/support/global-setup.ts'],
    // A default for the quick tests; every slow test sets its own, about 3x its time measured on a loaded
    // 2-core machine, so a slower runner does not flake and a hang still ends.
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // Two cores on CI: more workers only contend for Azurite and the emulator.
    maxWorkers: 2,
    reporters: ['default'],
  },
});
