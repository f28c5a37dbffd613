import { defineConfig } from 'vitest/config';
import { sharedAccountsSetting } from './src/local/azurite-accounts';

// The run's one Azurite (test/support/global-setup.ts, started in this process) inherits this: it serves an
// account per app stack besides the development account, so test files share it without sharing queues.
process.env.AZURITE_ACCOUNTS ??= sharedAccountsSetting();

/**
 * Files that load the Functions app (its `app.http`/`app.storageQueue` registrations are module state) or run the
 * in-process host (which writes its settings into process.env) each need a fresh process. Every other file shares
 * its worker's modules with the files before it: a fresh process and a fresh import of the Azure SDKs cost
 * about two seconds per file, a third of the suite's time on two cores. A new file that starts the host goes here.
 */
const ISOLATED = ['test/e2e/**/*.test.ts', 'test/browser/**/*.test.ts', 'test/integration/host/**/*.test.ts', 'test/reliability/auth.test.ts'];

export default defineConfig({
  test: {
    globalSetup: ['test/support/global-setup.ts'],
    // Every test's timeout is at least 3x its time measured on a loaded 2-core machine: this default covers every
    // test under a minute (the longest measured 53 s), the slow ones set their own, and a hang still ends.
    testTimeout: 180_000,
    hookTimeout: 180_000,
    pool: 'forks',
    // Two cores on CI, but a third of the suite's time is spent waiting (queue polls, visibility timeouts, child
    // hosts), not computing. On a clean clone with 2 cores: 501 s with two workers, 475 s with three, 471 s with four.
    maxWorkers: 3,
    reporters: ['default'],
    projects: [
      { extends: true, test: { name: 'shared', include: ['test/**/*.test.ts'], exclude: ISOLATED, isolate: false } },
      { extends: true, test: { name: 'isolated', include: ISOLATED } },
    ],
  },
});
