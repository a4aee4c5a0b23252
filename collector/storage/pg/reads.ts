/**
 * The segment read path of the PostgreSQL backend: one statement, as on SQLite (READ_PATH_SQL in
 * sqlite/reads.ts), with `iif` written as CASE and the constant row's parameters typed.
 *
 * No read cache: every read is one prepared statement to the server (~0.05 ms locally, measured in
 * /work/notes/pg.md). SQLite's cache is kept correct by per-connection triggers and
 * `PRAGMA data_version`; here the rows may be written by other processes sharing the database,
 * which a cache in this process would not see without a change feed (LISTEN/NOTIFY, issue 16).
 * `profileCache` is therefore ignored on PostgreSQL, and every entry is made for its read only
 * (`kept: false`, so nobody hangs a memo on it that would be lost).
 */
import { contactKey } from '../../identity/token.ts';
import type { Traits } from '../../identity/traits.ts';
import type { Profile, RfmBreakpoints } from '../../engine/index.ts';
import type { CachedInputs, SegmentInputs } from '../contract.ts';
import type { Queryable } from './db.ts';

/** The link, then the profile and traits of whichever profile it reads (its contact's while in force). */
export const PG_READ_PATH_SQL = `SELECT l.contact, l.expires, p.data, p.updated, m.traits
         FROM (SELECT $1::text AS site, $2::text AS visitor, $3::bigint AS now) q
         LEFT JOIN links l ON l.site = q.site AND l.visitor = q.visitor
         LEFT JOIN profiles p ON p.site = q.site
           AND p.visitor = CASE WHEN l.expires > q.now THEN 'c:' || l.contact ELSE q.visitor END
         LEFT JOIN profile_meta m ON m.site = q.site
           AND m.visitor = CASE WHEN l.expires > q.now THEN 'c:' || l.contact ELSE q.visitor END`;

const READ_PATH = { name: 'microseg_read_path', text: PG_READ_PATH_SQL, rowMode: 'array' as const };

type ReadRow = [
  contact: string | null,
  expires: number | null,
  data: string | null,
  updated: number | null,
  traits: string | null,
];

/** `rfmOf`: the site's quintiles in force, cached (rfm.ts), that go with each read. */
export async function segmentInputs(
  q: Queryable,
  rfmOf: (site: string) => Promise<RfmBreakpoints | null>,
  site: string,
  visitor: string,
  now = Date.now(),
): Promise<SegmentInputs> {
  const { rows } = await q.query<ReadRow>({ ...READ_PATH, values: [site, visitor, now] });
  const [linked, expires, data, updated, traitsText] = rows[0] ?? [null, null, null, null, null];
  const contact = linked !== null && expires !== null && expires > now ? linked : null;
  const key = contact === null ? visitor : contactKey(contact);
  const stored =
    data === null ? undefined : { profile: JSON.parse(data) as Profile, updated: updated ?? 0 };
  const traits = traitsText ? (JSON.parse(traitsText) as Traits) : undefined;
  const entry: CachedInputs = { stored, traits, kept: false };
  return { key, contact, stored, traits, entry, rfm: await rfmOf(site) };
}
