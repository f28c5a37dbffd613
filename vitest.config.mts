import { defineConfig } from 'vitest/config';
import { sharedAccountsSetting } from './src/local/azurite-accounts';
import { isolatedGlobs } from './test/support/isolation';

// The run's one Azurite (test/support/global-setup.ts, started in this process) inherits this: it serves an
// account per app stack besides the development account, so test files share it without sharing queues.
process.env.AZURITE_ACCOUNTS ??= sharedAccountsSetting();

const ISOLATED = isolatedGlobs();

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
    // test/support/isolation.ts: which files need a process of their own, and why.
    projects: [
      { extends: true, test: { name: 'shared', include: ['test/**/*.test.ts'], exclude: ISOLATED, isolate: false } },
      { extends: true, test: { name: 'isolated', include: ISOLATED } },
    ],
  },
});
