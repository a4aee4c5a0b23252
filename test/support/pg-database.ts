/**
 * A database of its own for one test file, on the run's throwaway PostgreSQL server
 * (test/support/pg-global-setup.ts). Usage:
 *
 *   const pgUrl = inject('pgUrl');
 *   describe.skipIf(!pgUrl)('…', () => {
 *     const db = pgTestDatabase();      // registers beforeAll/afterAll
 *     it('…', async () => { … db.url … });
 *   });
 *
 * `describe.skipIf(!pgUrl)` is what skips when PostgreSQL is not installed (the global setup then
 * printed why; under CI it fails the run instead). Creating a database from template0 takes a few ms,
 * so files stay independent without a server each.
 */
import pg from 'pg';
import { afterAll, beforeAll, inject } from 'vitest';
import { trackConnections } from '../../collector/storage/pg/pool.ts';

/** `url` with its database replaced. */
export function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
}

/**
 * A test's own pool on `url` (pg's defaults: int8 as text), to be ended by `endPool`
 * (collector/storage/pg/pool.ts), which waits until its connections are closed: `pool.end()`
 * resolves before, and a drop of the database right after would end a session still open, whose
 * client then throws an uncaught `error` (57P01) into the test run.
 */
export function testPool(url: string, max: number): pg.Pool {
  return trackConnections(new pg.Pool({ connectionString: url, max }));
}

/** Runs `fn` on a connection of its own to the run's server, as its superuser. */
export async function admin<T>(fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: inject('pgUrl') });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/** Creates a fresh database; returns its URL and a drop (which ends the sessions still on it). */
export async function createTestDatabase(): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `t_${process.pid}_${Date.now().toString(36)}_${Math.random().toString(36).slice(2, 8)}`;
  await admin((c) => c.query(`CREATE DATABASE "${name}" TEMPLATE template0`));
  return {
    url: withDatabase(inject('pgUrl'), name),
    drop: async () => {
      await admin((c) => c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`));
    },
  };
}

/** A database for the enclosing describe block: created before its tests, dropped after them. */
export function pgTestDatabase(): { readonly url: string } {
  let db: { url: string; drop(): Promise<void> } | undefined;
  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterAll(async () => {
    await db?.drop();
  });
  return {
    get url() {
      if (!db)
        throw new Error('pgTestDatabase: the database is made in beforeAll; read url in a test');
      return db.url;
    },
  };
}
