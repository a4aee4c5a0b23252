/**
 * `microseg backup`: a consistent copy of the collector's SQLite file, made with SQLite's online
 * backup while the collector may be serving (WAL: the copy reads one snapshot, writers go on).
 * An entry of `commands` in cli.ts.
 */
import { randomBytes } from 'node:crypto';
import {
  chmodSync,
  existsSync,
  linkSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
} from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import Database from 'better-sqlite3';
import { isPostgresUrl, redactDbUrl } from '../config/db-url.ts';
import { optionsFromEnv } from '../http/server.ts';
import { SECRET_FILE } from '../identity/keys.ts';
import { migrationsFolder } from '../storage/sqlite/open.ts';
import type { Command } from './cli.ts';
import { fail, help } from './cli-data.ts';

/** A refusal or failure that is not a usage error: the message on stderr, exit code 1. */
function refuse(msg: string): number {
  console.error(`microseg backup: ${msg}`);
  return 1;
}

export interface BackupSummary {
  bytes: number;
  /** Migrations recorded in the copy, and the tag of the last one when the journal names it. */
  migrations: number;
  lastMigration: string | undefined;
  integrity: string;
  /** Rows per table of the copy, by table name. */
  rows: Record<string, number>;
}

/** What a database file holds: its migrations, an integrity check and every table's row count. */
export function describeDatabase(file: string): BackupSummary {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    const integrity = String(db.pragma('quick_check', { simple: true }));
    const tables = (
      db
        .prepare(
          "select name from sqlite_master where type = 'table' and name not like 'sqlite_%' order by name",
        )
        .all() as { name: string }[]
    ).map((t) => t.name);
    const rows: Record<string, number> = {};
    for (const name of tables) {
      const quoted = `"${name.replaceAll('"', '""')}"`;
      rows[name] = (db.prepare(`select count(*) as n from ${quoted}`).get() as { n: number }).n;
    }
    let migrations = 0;
    let lastMigration: string | undefined;
    if (tables.includes('__drizzle_migrations')) {
      const last = db
        .prepare('select count(*) as n, max(created_at) as at from __drizzle_migrations')
        .get() as { n: number; at: number | null };
      migrations = last.n;
      lastMigration = migrationTag(last.at);
    }
    return { bytes: statSync(file).size, migrations, lastMigration, integrity, rows };
  } finally {
    db.close();
  }
}

/** The journal's tag of the migration drizzle recorded with `created_at` (its `when`). */
function migrationTag(at: number | null): string | undefined {
  if (at === null) return undefined;
  try {
    const journal = JSON.parse(
      readFileSync(join(migrationsFolder(), 'meta', '_journal.json'), 'utf8'),
    ) as { entries: { when: number; tag: string }[] };
    return journal.entries.find((e) => e.when === at)?.tag;
  } catch {
    return undefined;
  }
}

/**
 * Copies `db` into `out` through a temporary file in `out`'s folder, renamed into place once the
 * copy is complete and checked, so `out` is never a partial file. Without `force`, an existing
 * `out` is never replaced, even one that appears while the copy runs (a hard link does not clobber).
 */
export async function backupDatabase(
  db: string,
  out: string,
  force: boolean,
): Promise<BackupSummary> {
  const tmp = join(dirname(out), `.${basename(out)}.${randomBytes(6).toString('hex')}.tmp`);
  const source = new Database(db, { fileMustExist: true });
  try {
    source.pragma('busy_timeout = 5000');
    // All pages in one step: the step reads one snapshot under a WAL read lock, which does not
    // block the collector's writers. Stepping a few pages at a time would restart the copy from
    // the beginning each time the collector (another connection) commits.
    await source.backup(tmp, { progress: () => 0x7fffffff });
  } catch (err) {
    rmSync(tmp, { force: true });
    throw err;
  } finally {
    source.close();
  }
  try {
    // A copy of every visitor's data: readable by its owner only, as the key file is.
    chmodSync(tmp, 0o600);
    // One self-contained file (a rollback journal, not WAL, so no -wal file ever goes with it);
    // the collector that opens it as its database switches it back to WAL.
    const copy = new Database(tmp, { fileMustExist: true });
    try {
      copy.pragma('journal_mode = DELETE');
    } finally {
      copy.close();
    }
    const summary = describeDatabase(tmp);
    if (summary.integrity !== 'ok')
      throw new Error(`the copy fails its check: ${summary.integrity}`);
    if (force) renameSync(tmp, out);
    else placeNew(tmp, out);
    return summary;
  } catch (err) {
    rmSync(tmp, { force: true });
    throw err;
  }
}

/**
 * Moves `tmp` to `out` unless `out` exists. A hard link fails on an existing name, atomically;
 * where the file system has no hard links, a rename after a last look has to do.
 */
function placeNew(tmp: string, out: string): void {
  try {
    linkSync(tmp, out);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST' || existsSync(out)) throw err;
    renameSync(tmp, out);
    return;
  }
  rmSync(tmp);
}

const kb = (n: number) =>
  n >= 1024 * 1024 ? `${(n / 1024 / 1024).toFixed(1)} MiB` : `${(n / 1024).toFixed(1)} KiB`;

export const backupCommand: Command = {
  summary: "copy the collector's database to a file, safely while it serves",
  usage: `microseg backup --out FILE [--db FILE] [--force]

Copies the SQLite database with SQLite's online backup: a consistent snapshot, taken while the
collector keeps serving and writing. The copy is written to a temporary file next to FILE,
checked (PRAGMA quick_check) and renamed into place, mode 0600. Prints its size, its schema
(migrations applied) and the rows of each table.

The signing key is not in the database: back up the key file next to it (microseg.secret) or
keep MICROSEG_SECRET with the backup, and the site config file. Restore: stop the collector,
put the copy in place of the database file (remove any old -wal and -shm files beside it),
start the collector; it applies newer migrations at start. See docs/deploy.md.

Options:
  --out FILE        the backup file to write; never overwritten without --force
  --db FILE         the collector's SQLite file (MICROSEG_DB, default ./data/microseg.db)
  --force           replace FILE if it exists
  -h, --help        this help`,
  options: {
    out: { type: 'string' },
    db: { type: 'string' },
    force: { type: 'boolean' },
    help,
  },
  async run(v) {
    if (typeof v.out !== 'string' || v.out === '') return fail('backup', '--out is required');
    // Read (and checked, as serve checks it) even with --db: MICROSEG_SECRET decides what to say of the key.
    const env = optionsFromEnv();
    const db = typeof v.db === 'string' ? v.db : env.db;
    const out = resolve(v.out);
    if (db === ':memory:') return fail('backup', 'an in-memory database has no file to copy');
    // A database server is backed up with its own tools, which copy a consistent snapshot.
    if (isPostgresUrl(db))
      return fail(
        'backup',
        `${redactDbUrl(db)} is a PostgreSQL database: back it up with pg_dump (pg_dump --format=custom --file=FILE URL), and keep MICROSEG_SECRET apart from it`,
      );
    if (!existsSync(db)) return refuse(`no database at ${redactDbUrl(db)} (--db or MICROSEG_DB)`);
    if ([db, `${db}-wal`, `${db}-shm`].some((f) => resolve(f) === out))
      return fail('backup', '--out names the database itself');
    if (existsSync(out) && v.force !== true)
      return refuse(`${out} exists: choose another name, or --force to replace it`);
    if (!existsSync(dirname(out))) return refuse(`no folder ${dirname(out)} for ${out}`);
    let summary: BackupSummary;
    try {
      summary = await backupDatabase(db, out, v.force === true);
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      if (e.code === 'EEXIST')
        return refuse(`${out} appeared meanwhile: choose another name, or --force to replace it`);
      return refuse(`${e.message} (${db} → ${out})`);
    }
    const width = Math.max(...Object.keys(summary.rows).map((k) => k.length));
    const rows = Object.entries(summary.rows)
      .map(([name, n]) => `    ${name.padEnd(width)}  ${n}`)
      .join('\n');
    const secret = env.secret
      ? 'not in the backup: the signing keys come from MICROSEG_SECRET; keep its value in a secret store, apart from the backups'
      : existsSync(join(dirname(resolve(db)), SECRET_FILE))
        ? `not in the backup: back up ${join(dirname(resolve(db)), SECRET_FILE)} too, apart from the backups (email links and identity tokens need it)`
        : 'none yet (the collector creates it next to the database at its first start)';
    console.log(`backup of ${db} written to ${out}
  size:       ${kb(summary.bytes)} (${summary.bytes} bytes)
  schema:     ${summary.migrations} migrations applied${summary.lastMigration ? `, the last ${summary.lastMigration}` : ''}
  check:      ${summary.integrity}
  key file:   ${secret}
  rows:
${rows}`);
    return 0;
  },
};
