/**
 * Erasure and retention of the PostgreSQL backend, the port of sqlite/erasure.ts.
 *
 * Erasure goes by convention rather than by a list, so a table added later is covered without
 * touching this file: every table that holds a person's data has a `site` column and a `visitor`
 * and/or `contact` column naming them (found in information_schema). A `contact` column says
 * whose row it is — the contact whose profile it belongs to, null while anonymous — so a device
 * identified as one contact and later as another holds rows of both under one visitor id, and
 * erasing either takes exactly its own. The functions run in the caller's transaction (a write
 * job's client): an erasure is whole or not at all.
 *
 * What erasure guarantees here. PostgreSQL has no `secure_delete`: once the transaction commits,
 * the rows are gone for every query at once, but their bytes stay in the table's pages until
 * VACUUM (autovacuum, within minutes on a busy table) reclaims the space and later writes
 * overwrite it; the WAL, WAL archives and backups keep them for as long as the operator keeps
 * those (docs/security.md, "Erasure").
 */
import { contactKey } from '../../identity/token.ts';
import { AGING } from '../aging.ts';
import type { ErasureResult, Removed } from '../contract.ts';
import type { Queryable } from './db.ts';

interface PersonTable {
  name: string;
  visitor: boolean;
  contact: boolean;
}

const quote = (id: string) => `"${id.replace(/"/g, '""')}"`;

/**
 * Per process: the schema is fixed once the migrations ran at start, and a process speaks to one
 * database. A failed lookup is not kept (the next erasure asks again).
 */
let known: Promise<PersonTable[]> | undefined;

/** Tables with a `site` column and a `visitor` or `contact` column: where a person's rows live. */
function personTables(q: Queryable): Promise<PersonTable[]> {
  known ??= (async () => {
    const res = await q.query<{ table_name: string; column_name: string }>(
      `SELECT c.table_name, c.column_name
         FROM information_schema.columns c
         JOIN information_schema.tables t
           ON t.table_schema = c.table_schema AND t.table_name = c.table_name
        WHERE c.table_schema = current_schema() AND t.table_type = 'BASE TABLE'
          AND c.column_name IN ('site', 'visitor', 'contact')
        ORDER BY c.table_name`,
    );
    const cols = new Map<string, Set<string>>();
    for (const r of res.rows) {
      const set = cols.get(r.table_name) ?? new Set<string>();
      set.add(r.column_name);
      cols.set(r.table_name, set);
    }
    const out: PersonTable[] = [];
    for (const [name, set] of cols) {
      if (!set.has('site')) continue;
      const t = { name, visitor: set.has('visitor'), contact: set.has('contact') };
      if (t.visitor || t.contact) out.push(t);
    }
    return out;
  })().catch((err: unknown) => {
    known = undefined;
    throw err;
  });
  return known;
}

function add(removed: Removed, table: string, n: number) {
  if (n > 0) removed[table] = (removed[table] ?? 0) + n;
}

async function run(q: Queryable, sql: string, params: unknown[]): Promise<number> {
  return (await q.query(sql, params)).rowCount ?? 0;
}

/** Removes every row of one visitor id. A linked contact keeps its own rows (erase the contact to remove the person). */
export async function eraseVisitor(
  q: Queryable,
  site: string,
  visitor: string,
): Promise<ErasureResult> {
  const removed: Removed = {};
  for (const t of await personTables(q)) {
    if (!t.visitor) continue;
    const sql = `DELETE FROM ${quote(t.name)} WHERE site = $1 AND visitor = $2`;
    add(removed, t.name, await run(q, sql, [site, visitor]));
  }
  return { site, visitors: [visitor], contact: null, removed };
}

/**
 * Removes a contact and nothing of anyone else: every row that is the contact's (`contact` = it),
 * its own `c:<contact>` profile id's rows, and, of each device linked to it now (a link in force
 * at `now`), the rows that name no owner. A device whose link lapsed writes as anonymous, and one
 * that moved on to another contact keeps that contact's rows and link.
 */
export async function eraseContact(
  q: Queryable,
  site: string,
  contact: string,
  now: number,
): Promise<ErasureResult> {
  const removed: Removed = {};
  const self = contactKey(contact);
  const visitors = new Set<string>([self]);
  const tables = await personTables(q);
  // Found before anything goes: the devices linked now, and every visitor id with a row of the contact's.
  const linked = await q.query<{ visitor: string }>(
    'SELECT visitor FROM links WHERE site = $1 AND contact = $2 AND expires > $3',
    [site, contact, now],
  );
  const devices = linked.rows.map((r) => r.visitor).filter((v) => v !== self);
  for (const t of tables) {
    if (!(t.visitor && t.contact)) continue;
    const res = await q.query<{ visitor: string | null }>(
      `SELECT DISTINCT visitor FROM ${quote(t.name)} WHERE site = $1 AND contact = $2`,
      [site, contact],
    );
    for (const r of res.rows) if (typeof r.visitor === 'string') visitors.add(r.visitor);
  }
  for (const v of devices) visitors.add(v);
  for (const t of tables) {
    const table = quote(t.name);
    if (t.contact) {
      const sql = `DELETE FROM ${table} WHERE site = $1 AND contact = $2`;
      add(removed, t.name, await run(q, sql, [site, contact]));
    }
    if (!t.visitor) continue;
    const own = `DELETE FROM ${table} WHERE site = $1 AND visitor = $2`;
    add(removed, t.name, await run(q, own, [site, self]));
    if (devices.length === 0) continue;
    const unowned = t.contact ? ' AND contact IS NULL' : '';
    const sql = `DELETE FROM ${table} WHERE site = $1 AND visitor = ANY($2::text[])${unowned}`;
    add(removed, t.name, await run(q, sql, [site, devices]));
  }
  return { site, visitors: [...visitors], contact, removed };
}

/**
 * At a device's first link: its anonymous rows (events, history, deliveries, refusals, webhook
 * cooldown turns) become the contact's, as its profile just did, so erasing the contact takes
 * them even after the device moves on to someone else. Runs in the link's transaction.
 */
export async function claimAnonymousRows(
  q: Queryable,
  site: string,
  visitor: string,
  contact: string,
): Promise<void> {
  for (const t of await personTables(q)) {
    if (!(t.visitor && t.contact)) continue;
    await q.query(
      `UPDATE ${quote(t.name)} SET contact = $1 WHERE site = $2 AND visitor = $3 AND contact IS NULL`,
      [contact, site, visitor],
    );
  }
}

/**
 * Deletes at most `limit` rows of one site older than `cutoff` from one aging table; returns how
 * many. Small batches keep each write transaction short, so ingest never waits long behind it.
 * The table and column names are written into the SQL, so only those of AGING
 * (collector/storage/aging.ts) are accepted. Rows are picked by `ctid` (the row's physical
 * address, PostgreSQL's stand-in for SQLite's rowid): a TID scan deletes exactly the rows the
 * LIMITed subquery chose, whatever the table's key.
 */
export async function pruneBatch(
  q: Queryable,
  table: string,
  columns: string[],
  site: string,
  cutoff: number,
  limit: number,
): Promise<number> {
  const aging = AGING.find((a) => a.table === table);
  if (!aging) throw new Error(`microseg: ${JSON.stringify(table)} is not an aging table`);
  const unknown = columns.find((c) => !aging.columns.includes(c));
  if (unknown !== undefined) {
    throw new Error(`microseg: ${JSON.stringify(unknown)} is not an aging column of ${table}`);
  }
  if (columns.length === 0) throw new Error(`microseg: ${table} has no aging column`);
  const older = columns.map((c) => `${quote(c)} < $2`).join(' AND ');
  const t = quote(table);
  return run(
    q,
    `DELETE FROM ${t} WHERE ctid = ANY(ARRAY(
       SELECT ctid FROM ${t} WHERE site = $1 AND ${older} LIMIT $3))`,
    [site, cutoff, limit],
  );
}
