import { defineConfig } from 'vitest/config';

/**
 * Test files that run on both backends: they reach the database only through the storage contract
 * (and `rows()` of test/support/backend.ts). The others are about SQLite itself (backup, the
 * checkpointer, query plans, the CLI on a file) or need no database.
 */
const PG_SUITES = [
  'test/collector/{collect,collect-cors,dashboard-api,demo,seed-cli,diagnostics,errors,ops,page-facts,read,read-cache,rules-api,secure-headers,server,sessions,site-middleware,wire-compact}.test.ts',
  'test/dashboard/{live-deliveries,rules,seed-rollup,session,signout}.test.ts',
  'test/engine/{events,rfm-cli,rfm-job,scenarios,storage,storage-contract}.test.ts',
  'test/goals/{goals-api,goals-storage,serve}.test.ts',
  'test/identity/{identify,redirect}.test.ts',
  'test/reliability/{fuzz,shutdown,sigkill}.test.ts',
  'test/triggers/{camera,erasure,export,restart}.test.ts',
  'test/security/{csv-injection,deep-nesting,demo-site,device-hijack,erasure-isolation,identity-link,origin-host,quarantine-bounds,rate-limiter,trait-names,webhook-flap}.test.ts',
];

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
      // The backend-neutral suites again, on PostgreSQL (test/support/backend.ts): every app and
      // storage they open is a database of its own on the run's throwaway server.
      {
        extends: true,
        test: {
          name: 'suite-pg',
          include: PG_SUITES,
          globalSetup: ['./test/support/pg-global-setup.ts'],
          provide: { backend: 'postgres' },
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
