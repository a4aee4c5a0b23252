/**
 * Erasure and retention of the SQLite backend.
 *
 * Erasure goes by convention rather than by a list, so a table added later is covered without
 * touching this file: every table that holds a person's data has a `site` column and a `visitor`
 * and/or `contact` column naming them. A `contact` column says whose row it is — the contact
 * whose profile it belongs to, null while anonymous — so a device identified as one contact and
 * later as another holds rows of both under one visitor id, and erasing either takes exactly its
 * own. Erasing deletes in one transaction, with SQLite's `secure_delete` on so the freed pages
 * are overwritten rather than left readable in the file. The erasure tests check every column of
 * every table for the erased ids, and that another person's rows are untouched.
 */
import type Database from 'better-sqlite3';
import type { Db } from './open.ts';
import { contactKey } from '../../identity/token.ts';
import type { ErasureResult, Removed } from '../contract.ts';

interface PersonTable {
  name: string;
  visitor: boolean;
  contact: boolean;
}

const quote = (id: string) => `"${id.replace(/"/g, '""')}"`;

/** Per database: the schema is fixed once migrations ran at open. */
const tablesOf = new WeakMap<Database.Database, PersonTable[]>();

/** Tables with a `site` column and a `visitor` or `contact` column: where a person's rows live. */
function personTables(sqlite: Database.Database): PersonTable[] {
  const known = tablesOf.get(sqlite);
  if (known) return known;
  const tables = sqlite
    .prepare(
      `select name from sqlite_master where type = 'table' and name not like 'sqlite_%' and name not like '\\_\\_%' escape '\\'`,
    )
    .pluck()
    .all() as string[];
  const out: PersonTable[] = [];
  for (const name of tables) {
    const cols = new Set(
      (sqlite.prepare(`pragma table_info(${quote(name)})`).all() as { name: string }[]).map(
        (c) => c.name,
      ),
    );
    if (!cols.has('site')) continue;
    const t = { name, visitor: cols.has('visitor'), contact: cols.has('contact') };
    if (t.visitor || t.contact) out.push(t);
  }
  tablesOf.set(sqlite, out);
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

function run(sqlite: Database.Database, sql: string, ...params: string[]): number {
  return sqlite.prepare(sql).run(...params).changes;
}

/** Removes every row of one visitor id. A linked contact keeps its own rows (erase the contact to remove the person). */
export function eraseVisitor(db: Db, site: string, visitor: string): ErasureResult {
  const sqlite = db.$client;
  const removed: Removed = {};
  withSecureDelete(sqlite, () => {
    for (const t of personTables(sqlite)) {
      if (!t.visitor) continue;
      add(
        removed,
        t.name,
        run(sqlite, `delete from ${quote(t.name)} where site = ? and visitor = ?`, site, visitor),
      );
    }
  });
  return { site, visitors: [visitor], contact: null, removed };
}

/**
 * Removes a contact and nothing of anyone else: every row that is the contact's (`contact` = it),
 * its own `c:<contact>` profile id's rows, and, of each device linked to it now (a link in force
 * at `now`), the rows that name no owner. A device whose link lapsed writes as anonymous, and one
 * that moved on to another contact keeps that contact's rows and link.
 */
export function eraseContact(db: Db, site: string, contact: string, now: number): ErasureResult {
  const sqlite = db.$client;
  const removed: Removed = {};
  const self = contactKey(contact);
  const visitors = new Set<string>([self]);
  withSecureDelete(sqlite, () => {
    const tables = personTables(sqlite);
    // Found before anything goes: the devices linked now, and every visitor id with a row of the contact's.
    const linkedSql = 'select visitor from links where site = ? and contact = ? and expires > ?';
    const linked = sqlite.prepare(linkedSql).pluck().all(site, contact, now) as string[];
    const devices = linked.filter((v) => v !== self);
    for (const t of tables) {
      if (!(t.visitor && t.contact)) continue;
      const sql = `select distinct visitor from ${quote(t.name)} where site = ? and contact = ?`;
      for (const v of sqlite.prepare(sql).pluck().all(site, contact))
        if (typeof v === 'string') visitors.add(v);
    }
    for (const v of devices) visitors.add(v);
    for (const t of tables) {
      const table = quote(t.name);
      if (t.contact) {
        add(
          removed,
          t.name,
          run(sqlite, `delete from ${table} where site = ? and contact = ?`, site, contact),
        );
      }
      if (!t.visitor) continue;
      add(
        removed,
        t.name,
        run(sqlite, `delete from ${table} where site = ? and visitor = ?`, site, self),
      );
      const unowned = t.contact ? ' and contact is null' : '';
      for (const v of devices) {
        add(
          removed,
          t.name,
          run(sqlite, `delete from ${table} where site = ? and visitor = ?${unowned}`, site, v),
        );
      }
    }
  });
  return { site, visitors: [...visitors], contact, removed };
}

/**
 * At a device's first link: its anonymous rows (events, history, deliveries, refusals, webhook
 * cooldown turns) become the contact's, as its profile just did, so erasing the contact takes
 * them even after the device moves on to someone else. Runs in the link's transaction.
 */
export function claimAnonymousRows(db: Db, site: string, visitor: string, contact: string): void {
  const sqlite = db.$client;
  for (const t of personTables(sqlite)) {
    if (!(t.visitor && t.contact)) continue;
    const sql = `update ${quote(t.name)} set contact = ? where site = ? and visitor = ? and contact is null`;
    run(sqlite, sql, contact, site, visitor);
  }
}

/**
 * Deletes at most `limit` rows of one site older than `cutoff` from one aging table; returns how
 * many. Small batches keep each write transaction short, so ingest never waits long behind it.
 */
export function pruneBatch(
  db: Db,
  table: string,
  columns: string[],
  site: string,
  cutoff: number,
  limit: number,
): number {
  const sqlite = db.$client;
  const [first, ...rest] = columns;
  if (first === undefined) throw new Error(`microseg: ${table} has no aging column`);
  const extra = rest.map((c) => ` and ${quote(c)} < @cutoff`).join('');
  return sqlite
    .prepare(
      `delete from ${quote(table)} where rowid in (
         select rowid from ${quote(table)} where site = @site and ${quote(first)} < @cutoff${extra} limit @limit)`,
    )
    .run({ site, cutoff, limit }).changes;
}
