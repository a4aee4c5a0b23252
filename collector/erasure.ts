/**
 * Erasure and retention (a storage module next to storage.ts).
 *
 * Erasure goes by convention rather than by a list, so a table added later is covered without
 * touching this file: every table that holds a person's data has a `site` column and a `visitor`
 * and/or `contact` column naming them. Erasing deletes every such row, in one transaction, with
 * SQLite's `secure_delete` on so the freed pages are overwritten rather than left readable in the
 * file. The erasure test checks every column of every table for the erased ids.
 */
import type Database from 'better-sqlite3';
import type { SiteConfig } from './config.ts';
import type { Db } from './db/open.ts';
import { contactKey } from './identity/token.ts';

/** Table → rows removed. */
export type Removed = Record<string, number>;

export interface ErasureResult {
  site: string;
  /** Every visitor id erased (a contact's linked visitors included). */
  visitors: string[];
  contact: string | null;
  removed: Removed;
}

interface PersonTable {
  name: string;
  visitor: boolean;
  contact: boolean;
}

const quote = (id: string) => `"${id.replace(/"/g, '""')}"`;

/** Tables with a `site` column and a `visitor` or `contact` column: where a person's rows live. */
function personTables(sqlite: Database.Database): PersonTable[] {
  const tables = sqlite
    .prepare(`select name from sqlite_master where type = 'table' and name not like 'sqlite_%' and name not like '\\_\\_%' escape '\\'`)
    .pluck()
    .all() as string[];
  const out: PersonTable[] = [];
  for (const name of tables) {
    const cols = new Set((sqlite.prepare(`pragma table_info(${quote(name)})`).all() as { name: string }[]).map((c) => c.name));
    if (!cols.has('site')) continue;
    const t = { name, visitor: cols.has('visitor'), contact: cols.has('contact') };
    if (t.visitor || t.contact) out.push(t);
  }
  return out;
}

function withSecureDelete<T>(sqlite: Database.Database, fn: () => T): T {
  const before = sqlite.pragma('secure_delete', { simple: true });
  sqlite.pragma('secure_delete = ON');
  try {
    return sqlite.transaction(fn).immediate();
  } finally {
    sqlite.pragma(`secure_delete = ${before ? 'ON' : 'OFF'}`);
  }
}

function add(removed: Removed, table: string, n: number) {
  if (n > 0) removed[table] = (removed[table] ?? 0) + n;
}

function eraseVisitorRows(sqlite: Database.Database, tables: PersonTable[], site: string, visitor: string, removed: Removed) {
  for (const t of tables) {
    if (!t.visitor) continue;
    add(removed, t.name, sqlite.prepare(`delete from ${quote(t.name)} where site = ? and visitor = ?`).run(site, visitor).changes);
  }
}

/** Removes every row of one visitor id. A linked contact keeps its own rows (erase the contact to remove the person). */
export function eraseVisitor(db: Db, site: string, visitor: string): ErasureResult {
  const sqlite = db.$client;
  const removed: Removed = {};
  withSecureDelete(sqlite, () => eraseVisitorRows(sqlite, personTables(sqlite), site, visitor, removed));
  return { site, visitors: [visitor], contact: null, removed };
}

/** Removes a contact: its own rows (its `c:<contact>` profile too), and every visitor linked to it with all of theirs. */
export function eraseContact(db: Db, site: string, contact: string): ErasureResult {
  const sqlite = db.$client;
  const removed: Removed = {};
  // A known contact's own profile is stored under `c:<contact>`, like a visitor's.
  const visitors = new Set<string>([contactKey(contact)]);
  withSecureDelete(sqlite, () => {
    const tables = personTables(sqlite);
    // Linked visitors are found in any table naming both (links, outbox rows, …) before anything goes.
    for (const t of tables) {
      if (!(t.visitor && t.contact)) continue;
      for (const v of sqlite.prepare(`select distinct visitor from ${quote(t.name)} where site = ? and contact = ?`).pluck().all(site, contact)) {
        if (typeof v === 'string') visitors.add(v);
      }
    }
    for (const t of tables) {
      if (!t.contact) continue;
      add(removed, t.name, sqlite.prepare(`delete from ${quote(t.name)} where site = ? and contact = ?`).run(site, contact).changes);
    }
    for (const v of visitors) eraseVisitorRows(sqlite, tables, site, v, removed);
  });
  return { site, visitors: [...visitors], contact, removed };
}

/** A table whose rows age out with the site's retention, and the time column they age by. */
interface Aging {
  table: string;
  /** Rows go when every one of these columns is older than the cutoff. */
  columns: string[];
  /** Days a site keeps these rows; null: forever. The site's `retentionDays` when omitted. */
  keepDays?: (site: SiteConfig) => number | null;
}

/**
 * What retention deletes. Events go when both their time and their arrival are past the cutoff:
 * an import of old history is kept for the retention period after it arrived, so a retried
 * import is still recognized as a duplicate. Profiles are aggregates and stay as they are.
 */
export const AGING: Aging[] = [
  { table: 'events', columns: ['ts', 'received'] },
  // Refused events are for diagnosis, kept `quarantine.keepDays` (30) even without a retention.
  {
    table: 'quarantine',
    columns: ['received'],
    keepDays: (s) => Math.min(s.quarantine.keepDays, s.retentionDays ?? Infinity),
  },
  { table: 'segment_changes', columns: ['at'] },
];

/**
 * Deletes at most `limit` rows of one site older than `cutoff` from one aging table; returns how
 * many. Small batches keep each write transaction short, so ingest never waits long behind it.
 */
export function pruneBatch(db: Db, aging: Aging, site: string, cutoff: number, limit: number): number {
  const sqlite = db.$client;
  const [first, ...rest] = aging.columns;
  const extra = rest.map((c) => ` and ${quote(c)} < @cutoff`).join('');
  return sqlite
    .prepare(
      `delete from ${quote(aging.table)} where rowid in (
         select rowid from ${quote(aging.table)} where site = @site and ${quote(first!)} < @cutoff${extra} limit @limit)`,
    )
    .run({ site, cutoff, limit }).changes;
}
