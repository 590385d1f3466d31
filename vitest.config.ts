import { availableParallelism } from 'node:os';
import { defineConfig } from 'vitest/config';

/**
 * Three projects: the fast suites run in parallel; the end-to-end suites each start a whole local cloud
 * (DynamoDB, agents, Freqtrade simulators as processes) and run one file at a time, after the others,
 * so they never compete for the machine's two cores with the rest; `real` (tests/real-freqtrade/) runs the
 * .venv's real Freqtrade the same way (npm run test:real).
 */
export default defineConfig({
  test: {
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    projects: [
      {
        extends: true,
        test: {
          name: 'unit',
          include: ['tests/**/*.test.ts'],
          exclude: ['tests/e2e/**', 'tests/real-freqtrade/**', 'tests/browser/**'],
          // Vitest's default is one worker fewer than the cores: one file at a time on a 2-core runner. Most of
          // these files spend their time waiting on another process (moto, MLflow, dynalite's gateway, a
          // spawned agent or CLI), so a second file in parallel uses the core the first leaves idle.
          maxWorkers: Math.max(2, availableParallelism() - 1),
        },
      },
      {
        extends: true,
        test: {
          name: 'e2e',
          include: ['tests/e2e/**/*.test.ts'],
          fileParallelism: false,
          testTimeout: 120_000,
        },
      },
      {
        // The console in a real browser (Debian's chromium through playwright-core) against a local cloud per
        // file; one file at a time, like e2e. Fails, never skips, without chromium (tests/browser/support.ts).
        extends: true,
        test: {
          name: 'browser',
          include: ['tests/browser/**/*.test.ts'],
          fileParallelism: false,
          testTimeout: 120_000,
          hookTimeout: 90_000,
        },
      },
      {
        // Real `freqtrade trade` (the .venv's Freqtrade) against the local exchange: one file at a time,
        // like e2e, since each Freqtrade process takes a share of the machine's two cores.
        extends: true,
        test: {
          name: 'real',
          include: ['tests/real-freqtrade/**/*.test.ts'],
          fileParallelism: false,
          testTimeout: 120_000,
          hookTimeout: 90_000,
        },
      },
    ],
  },
});
