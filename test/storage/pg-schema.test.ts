/**
 * The PostgreSQL schema (collector/storage/pg/schema.ts, migrations in drizzle-pg/) against the
 * SQLite one: the committed migrations of each, applied to a fresh database, give the same tables
 * with the same column names, primary keys and index names. Reads SQLite's from a file migrated
 * with drizzle/ and PostgreSQL's from its catalog, so a column added to one schema only fails here.
 */
import Database from 'better-sqlite3';
import { eq } from 'drizzle-orm';
import { drizzle as drizzleSqlite } from 'drizzle-orm/better-sqlite3';
import { migrate as migrateSqlite } from 'drizzle-orm/better-sqlite3/migrator';
import { drizzle } from 'drizzle-orm/node-postgres';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { migratePg } from '../../collector/storage/pg/migrate.ts';
import { endPool } from '../../collector/storage/pg/pool.ts';
import { profiles, segmentChanges } from '../../collector/storage/pg/schema.ts';
import { tempDir } from '../helpers.ts';
import { pgTestDatabase, testPool } from '../support/pg-database.ts';

interface Shape {
  /** table → column names, sorted */
  columns: Record<string, string[]>;
  /** table → primary key columns, in key order */
  primaryKeys: Record<string, string[]>;
  /** index names other than primary keys, sorted */
  indexes: string[];
}

function sqliteShape(): Shape {
  const tmp = tempDir();
  const file = join(tmp.dir, 'schema.db');
  const sqlite = new Database(file);
  try {
    migrateSqlite(drizzleSqlite(sqlite), { migrationsFolder: 'drizzle' });
    const tables = sqlite
      .prepare(
        `select name from sqlite_master where type = 'table' and name not like 'sqlite_%' and name not like '\\_\\_%' escape '\\'`,
      )
      .pluck()
      .all() as string[];
    const columns: Record<string, string[]> = {};
    const primaryKeys: Record<string, string[]> = {};
    for (const t of tables) {
      const info = sqlite.prepare(`pragma table_info("${t}")`).all() as {
        name: string;
        pk: number;
      }[];
      columns[t] = info.map((c) => c.name).sort();
      primaryKeys[t] = info
        .filter((c) => c.pk > 0)
        .sort((a, b) => a.pk - b.pk)
        .map((c) => c.name);
    }
    const indexes = (
      sqlite
        .prepare(
          `select name from sqlite_master where type = 'index' and name not like 'sqlite_autoindex_%'`,
        )
        .pluck()
        .all() as string[]
    ).sort();
    return { columns, primaryKeys, indexes };
  } finally {
    sqlite.close();
    tmp.cleanup();
  }
}

async function pgShape(url: string): Promise<Shape> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const columns: Record<string, string[]> = {};
    const cols = await client.query<{ table_name: string; column_name: string }>(
      `select table_name, column_name from information_schema.columns
        where table_schema = 'public' order by table_name, column_name`,
    );
    // Sorted by the query, as SQLite's are by the code above.
    for (const r of cols.rows)
      columns[r.table_name] = [...(columns[r.table_name] ?? []), r.column_name];
    const primaryKeys: Record<string, string[]> = {};
    const pks = await client.query<{ table_name: string; column_name: string }>(
      `select k.table_name, k.column_name from information_schema.table_constraints c
         join information_schema.key_column_usage k
           on k.constraint_name = c.constraint_name and k.table_schema = c.table_schema
        where c.table_schema = 'public' and c.constraint_type = 'PRIMARY KEY'
        order by k.table_name, k.ordinal_position`,
    );
    for (const r of pks.rows) {
      primaryKeys[r.table_name] = [...(primaryKeys[r.table_name] ?? []), r.column_name];
    }
    const idx = await client.query<{ name: string }>(
      `select c.relname as name from pg_index i
         join pg_class c on c.oid = i.indexrelid
         join pg_namespace n on n.oid = c.relnamespace
        where n.nspname = 'public' and not i.indisprimary order by 1`,
    );
    return { columns, primaryKeys, indexes: idx.rows.map((r) => r.name).sort() };
  } finally {
    await client.end();
  }
}

const pgUrl = inject('pgUrl');

describe.skipIf(!pgUrl)('PostgreSQL schema (drizzle-pg migrations)', () => {
  const db = pgTestDatabase();
  let pool: pg.Pool;
  beforeAll(async () => {
    await migratePg(db.url);
    pool = testPool(db.url, 2);
  });
  afterAll(async () => {
    if (pool) await endPool(pool);
  });

  it('has every SQLite table, with the same columns, primary keys and indexes', async () => {
    const lite = sqliteShape();
    const post = await pgShape(db.url);
    // The SQLite schema is not empty (a failed read would make this pass vacuously).
    expect(Object.keys(lite.columns)).toContain('events');
    expect(post.columns).toEqual(lite.columns);
    expect(post.primaryKeys).toEqual(lite.primaryKeys);
    expect(post.indexes).toEqual(lite.indexes);
  });

  it('applies nothing on a second run (a restart)', async () => {
    const count = async () =>
      Number(
        (await pool.query('select count(*) as n from drizzle.__drizzle_migrations')).rows[0].n,
      );
    const before = await count();
    expect(before).toBeGreaterThan(0);
    await migratePg(db.url);
    expect(await count()).toBe(before);
  });

  it('reads ms times back as JS numbers, segments as an array, and numbers seq from 1', async () => {
    const orm = drizzle(pool);
    const t = Date.UTC(2026, 10, 1, 12, 0, 0, 123); // far past 2^31: needs bigint
    await orm.insert(profiles).values({
      site: 's',
      visitor: 'v',
      firstSeen: t,
      lastSeen: t,
      updated: t,
      segment: 'newbie:cameras:hot',
      data: '{}',
      segments: ['camera-intent'],
      monetary: 0.1 + 0.2,
    });
    const [row] = await orm.select().from(profiles).where(eq(profiles.visitor, 'v'));
    expect(row?.firstSeen).toBe(t);
    expect(row?.segments).toEqual(['camera-intent']);
    // double precision: the sum reads back exactly (PostgreSQL's `real` would round it).
    expect(row?.monetary).toBe(0.1 + 0.2);
    const inserted = await orm
      .insert(segmentChanges)
      .values([
        { site: 's', visitor: 'v', at: t, kind: 'key', name: 'a' },
        { site: 's', visitor: 'v', at: t, kind: 'key', name: 'b' },
      ])
      .returning({ seq: segmentChanges.seq });
    expect(inserted.map((r) => r.seq)).toEqual([1, 2]);
  });
});
