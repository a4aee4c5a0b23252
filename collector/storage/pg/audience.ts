/**
 * Audience queries of the PostgreSQL backend, the port of sqlite/audience.ts: member counts per
 * microsegment key and custom segment, and a cursor over a segment's members for exports. Both
 * read the state stored at each visitor's last write (`profiles.segment`, `profiles.segments`).
 *
 * - Key patterns have only `*` special (SQLite's GLOB once its other metacharacters are quoted,
 *   sqlite/audience.ts `globOf`): here a LIKE with `\`, `%` and `_` escaped, `*` as `%`, so a key
 *   holding `%` or `_` matches only itself. LIKE is case-sensitive like GLOB, and a pattern's
 *   literal prefix walks `profiles_segment (site, segment text_pattern_ops)`: node-postgres sends
 *   unnamed statements, which PostgreSQL plans with the parameter's value, so the prefix is known.
 * - Custom segments are a jsonb containment, `segments @> '["name"]'`. No index covers it: like
 *   SQLite's `json_each`, it reads the site's profiles (the primary key's `site` prefix). A GIN
 *   index (`jsonb_path_ops`) would serve it; the schema keeps the same index names as SQLite's,
 *   so adding one is a schema decision, not this module's.
 */
import type pg from 'pg';
import type { Audience, MemberRow, SegmentCounts } from '../contract.ts';
import type { Queryable } from './db.ts';

/** A `*` key pattern as a LIKE pattern (escape `\`): every other character matches itself. */
export function likeOf(pattern: string): string {
  return pattern.replace(/[\\%_]/g, (c) => `\\${c}`).replace(/\*/g, '%');
}

/** The WHERE of an audience (after `site = $1`) and its parameter. */
function audienceWhere(audience: Audience): { where: string; arg: string } {
  return audience.kind === 'custom'
    ? { where: 'segments @> jsonb_build_array($2::text)', arg: audience.name }
    : { where: `segment LIKE $2 ESCAPE '\\'`, arg: likeOf(audience.pattern) };
}

export async function segmentCounts(q: Queryable, site: string): Promise<SegmentCounts> {
  const keys: Record<string, number> = {};
  const byKey = await q.query<{ key: string; n: number }>(
    'SELECT segment AS key, count(*)::int AS n FROM profiles WHERE site = $1 GROUP BY segment',
    [site],
  );
  for (const r of byKey.rows) keys[r.key] = r.n;
  const custom: Record<string, number> = {};
  const byName = await q.query<{ name: string; n: number }>(
    `SELECT j.name, count(*)::int AS n
       FROM profiles, jsonb_array_elements_text(profiles.segments) AS j(name)
      WHERE profiles.site = $1 AND profiles.segments <> '[]'::jsonb
      GROUP BY j.name`,
    [site],
  );
  for (const r of byName.rows) custom[r.name] = r.n;
  return { keys, custom };
}

/** Members of an audience, counted (for tests and the CLI's summary). */
export async function countMembers(
  q: Queryable,
  site: string,
  audience: Audience,
): Promise<number> {
  const { where, arg } = audienceWhere(audience);
  const res = await q.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM profiles WHERE site = $1 AND ${where}`,
    [site, arg],
  );
  return res.rows[0]?.n ?? 0;
}

/**
 * The sites with at least one profile, sorted bytewise (COLLATE "C"), as SQLite sorts them
 * whatever the database's collation (the CLI's hint on a mistyped site).
 */
export async function sitesWithProfiles(q: Queryable): Promise<string[]> {
  const res = await q.query<{ site: string }>(
    'SELECT site FROM profiles GROUP BY site ORDER BY site COLLATE "C"',
  );
  return res.rows.map((r) => r.site);
}

/** Rows fetched per round trip of the export's cursor. */
const BATCH = 500;

interface MemberRecord extends Omit<MemberRow, 'segments'> {
  segments: string[];
}

/**
 * Members of an audience, streamed from one consistent snapshot: a client of its own taken at the
 * first row asked for, a REPEATABLE READ READ ONLY transaction (writers go on; the export sees
 * none of their commits), and a server-side cursor read `BATCH` rows at a time, so memory stays
 * flat whatever the audience's size. A `DECLARE … CURSOR` in that transaction rather than the
 * `pg-cursor` package: the same thing in three statements, and no dependency to keep. The client
 * goes back to the pool when the iteration ends, breaks (`return()` runs the `finally`) or throws;
 * a client whose query failed is destroyed rather than reused. No ORDER BY: like SQLite's, the
 * rows come in the order the plan reads them (a sort would hold the first row back until the
 * whole audience is read).
 */
export async function* members(
  pool: pg.Pool,
  site: string,
  audience: Audience,
): AsyncGenerator<MemberRow> {
  const { where, arg } = audienceWhere(audience);
  const client = await pool.connect();
  let failed: Error | undefined;
  // The pool listens for errors of idle clients only. Between two FETCHes (while the consumer
  // writes a batch out, as slowly as its reader takes it) no query is under way to receive the
  // server ending the session (a restart, pg_terminate_backend): the client emits `error`, which
  // with no listener ends the process. Kept here, it fails the next FETCH instead.
  const onError = (err: Error) => {
    failed ??= err;
  };
  client.on('error', onError);
  try {
    await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    await client.query({
      text: `DECLARE members NO SCROLL CURSOR FOR
             SELECT visitor, segment, segments, first_seen::float8 AS "firstSeen",
                    last_seen::float8 AS "lastSeen", purchases, monetary
               FROM profiles WHERE site = $1 AND ${where}`,
      values: [site, arg],
    });
    for (;;) {
      // The session ended while the consumer had the rows: the server's error, not pg's "not
      // queryable" one, so that the caller sees why (storageFailure maps 57P01 and the like).
      if (failed) throw failed;
      const batch = await client.query<MemberRecord>(`FETCH ${BATCH} FROM members`);
      for (const r of batch.rows) {
        // jsonb reads back as an array; the contract's `segments` is its JSON text, written as
        // SQLite stores it (JSON.stringify: no spaces, where jsonb's text output has some).
        yield { ...r, segments: JSON.stringify(r.segments) };
      }
      if (batch.rows.length < BATCH) break;
    }
  } catch (err) {
    failed = err as Error;
    throw err;
  } finally {
    try {
      // Read only: COMMIT and ROLLBACK both just end the snapshot (and close the cursor).
      if (!failed) await client.query('COMMIT');
    } catch (err) {
      failed = err as Error;
    }
    client.off('error', onError);
    client.release(failed);
  }
}
