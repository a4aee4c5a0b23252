/**
 * Audience queries of the SQLite backend: member counts per microsegment key and custom segment,
 * and a cursor over a segment's members for exports. Both read the state stored at each
 * visitor's last write (`profiles.segment` and `profiles.segments`), the same state the segment
 * history and webhooks are driven by.
 */
import Database from 'better-sqlite3';
import { and, count, eq, sql } from 'drizzle-orm';
import type { Audience, MemberRow, SegmentCounts } from '../contract.ts';
import { PAGE_CACHE_KIB, type Db } from './open.ts';
import { profiles } from './schema.ts';

export function segmentCounts(db: Db, site: string): SegmentCounts {
  const keys: Record<string, number> = {};
  for (const r of db
    .select({ key: profiles.segment, n: count() })
    .from(profiles)
    .where(eq(profiles.site, site))
    .groupBy(profiles.segment)
    .all()) {
    keys[r.key] = r.n;
  }
  const custom: Record<string, number> = {};
  const rows = db.all<{ name: string; n: number }>(
    sql`select j.value as name, count(*) as n from ${profiles}, json_each(${profiles.segments}) as j
        where ${profiles.site} = ${site} and ${profiles.segments} != '[]' group by j.value`,
  );
  for (const r of rows) custom[r.name] = r.n;
  return { keys, custom };
}

/** GLOB with only `*` special: the other GLOB characters of a key are matched literally. */
function globOf(pattern: string): string {
  return pattern.replace(/[[?]/g, (c) => `[${c}]`);
}

/**
 * Members of an audience, one row at a time, on a read-only connection of its own: better-sqlite3
 * keeps a connection busy while a statement iterates, and an export's iteration lives across many
 * event-loop turns. The read transaction gives the export one consistent snapshot (WAL lets
 * writers go on). The connection opens at the first row asked for and closes at the end, or when
 * the consumer stops early (`return()` runs the `finally`).
 */
export async function* members(
  db: Db,
  site: string,
  audience: Audience,
): AsyncGenerator<MemberRow> {
  const file = db.$client.name;
  if (db.$client.memory || !file) throw new Error('exports need a database file (not :memory:)');
  const reader = new Database(file, { readonly: true, fileMustExist: true });
  try {
    reader.pragma('busy_timeout = 5000');
    // A scan reads each page once: a larger cache would only hold memory until the export ends.
    reader.pragma(`cache_size = -${PAGE_CACHE_KIB}`);
    const cols = `visitor, segment, segments, first_seen as firstSeen, last_seen as lastSeen, purchases, monetary`;
    const stmt =
      audience.kind === 'custom'
        ? reader.prepare(
            `select ${cols} from profiles where site = ? and segments != '[]'
               and exists (select 1 from json_each(profiles.segments) where value = ?)`,
          )
        : reader.prepare(`select ${cols} from profiles where site = ? and segment glob ?`);
    const arg = audience.kind === 'custom' ? audience.name : globOf(audience.pattern);
    yield* stmt.iterate(site, arg) as IterableIterator<MemberRow>;
  } finally {
    reader.close();
  }
}

/** Members of an audience, counted (for tests and the CLI's summary). */
export function countMembers(db: Db, site: string, audience: Audience): number {
  if (audience.kind === 'key') {
    return (
      db
        .select({ n: count() })
        .from(profiles)
        .where(
          and(eq(profiles.site, site), sql`${profiles.segment} glob ${globOf(audience.pattern)}`),
        )
        .get()?.n ?? 0
    );
  }
  return (
    db.get<{ n: number }>(
      sql`select count(*) as n from ${profiles} where ${profiles.site} = ${site}
          and exists (select 1 from json_each(${profiles.segments}) where value = ${audience.name})`,
    )?.n ?? 0
  );
}

/** The sites with at least one profile in this database, sorted (the CLI's hint on a mistyped site). */
export function sitesWithProfiles(db: Db): string[] {
  return db
    .selectDistinct({ site: profiles.site })
    .from(profiles)
    .orderBy(profiles.site)
    .all()
    .map((r) => r.site);
}
