/**
 * The database backend a test file runs on: SQLite unless the vitest project provides
 * `backend: 'postgres'` (the `suite-pg` project of vitest.config.ts runs the backend-neutral suites
 * again on the run's throwaway PostgreSQL server). `openTestStorage()` gives a fresh, empty storage
 * of that backend (a SQLite file in a temporary folder, or a database of its own), and `rows()`
 * reads tables for assertions on either (`?` placeholders, turned into `$n` for PostgreSQL).
 * PostgreSQL's `bigint` (epoch ms, `count(*)`) and `numeric` (`sum(bigint)`) come back as numbers,
 * as SQLite gives them, so one assertion reads the same on both.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { inject } from 'vitest';
import type { Storage, StorageOptions } from '../../collector/storage/contract.ts';
import { openStorage } from '../../collector/storage/open.ts';
import { sqliteHandle } from '../../collector/storage/sqlite/index.ts';
import { admin, withDatabase } from './pg-database.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    /** 'postgres' in the suite-pg project; absent (SQLite) elsewhere. */
    backend?: 'sqlite' | 'postgres';
  }
}

export type Backend = 'sqlite' | 'postgres';

/**
 * The database every PostgreSQL test storage is copied from: made once per run (by the first file
 * that needs it, under an advisory lock, as files run in parallel) with the collector's migrations
 * applied. `CREATE DATABASE … TEMPLATE` then gives each test a migrated database without running
 * the ~80 ms of migrations again. The storage contract suite and test/storage/pg-*.test.ts still
 * migrate empty databases of their own (pg-database.ts).
 */
const TEMPLATE = 'microseg_migrated_template';
/** Any number, the same in every file: the advisory lock of the template's creation. */
const TEMPLATE_LOCK = 15_2026;

let template: Promise<void> | undefined;
function migratedTemplate(): Promise<void> {
  template ??= admin(async (c) => {
    // Released with the session if anything below throws.
    await c.query('SELECT pg_advisory_lock($1)', [TEMPLATE_LOCK]);
    const found = await c.query('SELECT 1 FROM pg_database WHERE datname = $1', [TEMPLATE]);
    if (found.rowCount) return;
    await c.query(`CREATE DATABASE "${TEMPLATE}" TEMPLATE template0`);
    try {
      const storage = await openStorage(withDatabase(inject('pgUrl'), TEMPLATE));
      await storage.close();
      // Nobody connects to it again: a session on a database stops it being copied.
      await c.query(`ALTER DATABASE "${TEMPLATE}" WITH IS_TEMPLATE true ALLOW_CONNECTIONS false`);
    } catch (err) {
      // Not left half-migrated for the next file to copy.
      await c.query(`DROP DATABASE IF EXISTS "${TEMPLATE}" WITH (FORCE)`);
      throw err;
    }
  });
  return template;
}

/** A fresh database copied from the migrated template; its URL and a drop. */
async function createMigratedDatabase(): Promise<{ url: string; drop(): Promise<void> }> {
  await migratedTemplate();
  const name = `t_${process.pid}_${Date.now().toString(36)}_${Math.random().toString(36).slice(2, 8)}`;
  await admin((c) => c.query(`CREATE DATABASE "${name}" TEMPLATE "${TEMPLATE}"`));
  return {
    url: withDatabase(inject('pgUrl'), name),
    drop: async () => {
      await admin((c) => c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`));
    },
  };
}

export const BACKEND: Backend = inject('backend') === 'postgres' ? 'postgres' : 'sqlite';

/** The PostgreSQL URL of each storage opened here, for `rows()`. */
const urls = new WeakMap<Storage, string>();

export interface TestStorage {
  storage: Storage;
  /** Closes the storage and removes its file or database. */
  close(): Promise<void>;
}

export async function openTestStorage(opts: StorageOptions = {}): Promise<TestStorage> {
  if (BACKEND === 'postgres') {
    const db = await createMigratedDatabase();
    const storage = await openStorage(db.url, opts);
    urls.set(storage, db.url);
    return {
      storage,
      async close() {
        await storage.close();
        await db.drop();
      },
    };
  }
  const dir = mkdtempSync(join(tmpdir(), 'microseg-test-'));
  const storage = await openStorage(join(dir, 'test.db'), opts);
  return {
    storage,
    async close() {
      await storage.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A signing secret for collectors started on a PostgreSQL test database (which requires one). */
export const PG_TEST_SECRET = 'pg-test-secret-pg-test-secret-0123456789';

export interface TestDatabase {
  /** What `start({ db })`, MICROSEG_DB or `--db` takes: a SQLite file in `dir`, or a URL. */
  db: string;
  /** MICROSEG_SECRET for a collector on it (PostgreSQL requires one; SQLite keeps a key file). */
  secret: string | undefined;
  /** Removes a PostgreSQL database (a SQLite file goes with its folder). */
  drop(): Promise<void>;
}

/** A fresh, empty database for code that opens its own storage (`start()`, the CLI). */
export async function createTestDatabaseFor(dir: string, name = 'test.db'): Promise<TestDatabase> {
  if (BACKEND === 'postgres') {
    const db = await createMigratedDatabase();
    return { db: db.url, secret: PG_TEST_SECRET, drop: db.drop };
  }
  return { db: join(dir, name), secret: undefined, drop: async () => {} };
}

/** The environment of a collector process (`microseg serve`) on the database. */
export function collectorEnv(database: TestDatabase): Record<string, string> {
  return {
    MICROSEG_DB: database.db,
    ...(database.secret ? { MICROSEG_SECRET: database.secret } : {}),
  };
}

/** Lets `rows()` read a storage that the code under test opened itself on `db`. */
export function adoptStorage(storage: Storage, db: string): void {
  if (storage.kind === 'postgres') urls.set(storage, db);
}

/** int8 and numeric as JS numbers; a value a double cannot hold exactly fails the test instead. */
function exactNumber(text: string): number {
  const n = Number(text);
  if (Number.isInteger(n) && !Number.isSafeInteger(n))
    throw new Error(`rows(): ${text} is not exact as a JS number`);
  return n;
}
const numberTypes = {
  getTypeParser(oid: number, format?: 'text' | 'binary') {
    if (oid === pg.types.builtins.INT8 || oid === pg.types.builtins.NUMERIC) return exactNumber;
    return pg.types.getTypeParser(oid, format);
  },
} as pg.CustomTypesConfig;

async function onPg<T>(url: string, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url, types: numberTypes });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

const dollars = (sql: string) => {
  let n = 0;
  return sql.replace(/\?/g, () => `$${++n}`);
};

/** Rows of a query on the storage's database, for assertions (`?` placeholders). */
export async function rows<T = Record<string, unknown>>(
  storage: Storage,
  sql: string,
  ...params: unknown[]
): Promise<T[]> {
  const url = urls.get(storage);
  if (url === undefined)
    return sqliteHandle(storage)
      .prepare(sql)
      .all(...params) as T[];
  return onPg(url, async (c) => (await c.query(dollars(sql), params)).rows as T[]);
}

/** Runs a statement that returns no rows (seeding a table behind the storage's back). */
export async function exec(storage: Storage, sql: string, ...params: unknown[]): Promise<void> {
  const url = urls.get(storage);
  if (url === undefined) {
    sqliteHandle(storage)
      .prepare(sql)
      .run(...params);
    return;
  }
  await onPg(url, (c) => c.query(dollars(sql), params));
}

/** What `--db` (or MICROSEG_DB) names for the storage's database: its SQLite file, or its URL. */
export function databaseArg(storage: Storage): string {
  return urls.get(storage) ?? sqliteHandle(storage).name;
}

/** The first row of `rows()`, or undefined. */
export async function row<T = Record<string, unknown>>(
  storage: Storage,
  sql: string,
  ...params: unknown[]
): Promise<T | undefined> {
  return (await rows<T>(storage, sql, ...params))[0];
}
