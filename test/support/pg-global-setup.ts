/**
 * Vitest globalSetup of the `suite` project: one throwaway PostgreSQL server for the whole run
 * (test/support/postgres.ts, ~1 s to start), its superuser URL given to the test files as
 * `inject('pgUrl')`; each file makes a database of its own from it (test/support/pg-database.ts).
 *
 * Without PostgreSQL installed the URL is empty and the PostgreSQL tests skip, saying why, so that
 * a newcomer without it still runs the rest; under CI (`CI` set) a missing PostgreSQL fails the
 * run instead: CI must test both backends (.ci/run installs Debian's postgresql).
 */
import type { TestProject } from 'vitest/node';
import { findPgBin, startPostgres } from './postgres.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    /** The throwaway server's superuser URL; empty when PostgreSQL is not installed (skip). */
    pgUrl: string;
  }
}

export const PG_MISSING =
  'PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/initdb): its tests are skipped; `apt-get install postgresql` runs them';

export default function setup(project: TestProject) {
  return pgSetup(project, findPgBin());
}

/** The setup with the binaries' folder given (null: not installed), for its own test. */
export async function pgSetup(
  project: Pick<TestProject, 'provide'>,
  bin: string | null,
): Promise<(() => Promise<void>) | undefined> {
  if (!bin) {
    if (process.env.CI) throw new Error(`${PG_MISSING}. CI is set: PostgreSQL is required there.`);
    console.warn(`\n${PG_MISSING}\n`);
    project.provide('pgUrl', '');
    return;
  }
  const server = await startPostgres({ bin });
  project.provide('pgUrl', server.url);
  return () => server.stop();
}
