import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    testTimeout: 20_000,
    hookTimeout: 60_000,
    // Two cores: keep files from piling up.
    maxWorkers: 2,
    projects: [
      {
        extends: true,
        test: {
          name: 'suite',
          include: ['test/**/*.test.ts'],
          exclude: ['test/e2e/**'],
          // One throwaway PostgreSQL server for the run (~1 s), a database per test file from it:
          // test/support/postgres.ts. Skipped with a message when PostgreSQL is not installed,
          // an error under CI.
          globalSetup: ['./test/support/pg-global-setup.ts'],
        },
      },
      // The real browsers run last and one file at a time: a Firefox closing a tab on a machine
      // that other suites keep busy was seen to drop the page's last request (docs/snippet.md), which
      // would make the suite's result depend on the machine's load, not on the code.
      {
        extends: true,
        test: {
          name: 'browsers',
          include: ['test/e2e/**/*.test.ts'],
          fileParallelism: false,
          sequence: { groupOrder: 1 },
        },
      },
    ],
  },
});
