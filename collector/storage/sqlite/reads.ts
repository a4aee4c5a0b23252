/**
 * The segment read path of the SQLite backend and its read cache (synchronous: the backend wraps
 * it in the async contract).
 */
import type Database from 'better-sqlite3';
import { contactKey } from '../../identity/token.ts';
import type { Traits } from '../../identity/traits.ts';
import type { Profile, RfmBreakpoints } from '../../engine/index.ts';
import { must } from '../../../shared/must.ts';
import type { CachedInputs, SegmentInputs } from '../contract.ts';
import { admission, DEFAULT_PROFILE_CACHE, Lru } from '../read-cache.ts';

export { DEFAULT_PROFILE_CACHE };

/**
 * The segment read: the visitor's link, then the profile and traits of whichever profile it reads
 * (its contact's while the link is in force at `now`, the third parameter) — three primary-key
 * lookups in one statement, whatever the history (the query plan is asserted in
 * test/engine/storage.test.ts). Always one row: the constant row is left-joined.
 */
export const READ_PATH_SQL = `SELECT l.contact, l.expires, p.data, p.updated, m.traits
         FROM (SELECT ? AS site, ? AS visitor, ? AS now) q
         LEFT JOIN links l ON l.site = q.site AND l.visitor = q.visitor
         LEFT JOIN profiles p
           ON p.site = q.site AND p.visitor = iif(l.expires > q.now, 'c:' || l.contact, q.visitor)
         LEFT JOIN profile_meta m
           ON m.site = q.site AND m.visitor = iif(l.expires > q.now, 'c:' || l.contact, q.visitor)`;

export interface ReadPath {
  segmentInputs(site: string, visitor: string, now?: number): SegmentInputs;
  /** Drops every cached entry when another connection committed since the last turn. */
  dropIfWrittenElsewhere(): void;
}

/**
 * The read cache. Segment reads outnumber writes, and a read is otherwise a statement plus a
 * JSON.parse of the profile. Correctness rests on three rules:
 * - every write to `profiles`, `profile_meta` or `links` through this connection drops the
 *   entries it touches, from TEMP triggers (per connection, not in the schema), so no write
 *   path — ingest, merge, sweep, erasure, retention, one added later — can forget to;
 * - entries are filled only outside a transaction, i.e. from committed rows: a rollback leaves
 *   nothing behind (what it wrote was dropped, nothing it read was kept);
 * - a commit by another connection (the CLI's `forget`, a second process on the same file)
 *   changes `PRAGMA data_version`, checked by the first read of each event-loop turn (a
 *   statement: the price of a cache hit): everything is dropped. Such a commit is seen by
 *   the reads of the next turn, as it would be had it come a moment later.
 * One collector process owning the SQLite file is the design; with several collectors on a
 * shared database (PostgreSQL, later) each needs the other's writes: a change feed
 * (LISTEN/NOTIFY) to drop entries, or the cache off (profileCache: 0).
 * `onDrop` is told when everything is dropped (the RFM quintiles go with it); `rfmOf` gives the
 * site's quintiles that go with each read (rfm.ts, cached).
 */
export function readPath(
  sqlite: Database.Database,
  profileCache: number | undefined,
  onDrop: () => void,
  rfmOf: (site: string) => RfmBreakpoints | null,
): ReadPath {
  type ReadRow = [
    contact: string | null,
    expires: number | null,
    data: string | null,
    updated: number | null,
    traits: string | null,
  ];
  const selectReadPath = sqlite.prepare<[string, string, number], ReadRow>(READ_PATH_SQL).raw();

  const cacheSize = Math.max(0, profileCache ?? DEFAULT_PROFILE_CACHE);
  const cached = new Lru<CachedInputs>(cacheSize); // site, profile id
  // site, visitor id → its link (in force or not: checked at each read, so a lapse needs no write)
  const linkCached = new Lru<{ contact: string; expires: number } | null>(cacheSize);
  const cacheKey = (site: string, id: string) => `${site}\n${id}`;
  const dataVersion = sqlite.prepare<[], number>('PRAGMA data_version').pluck();
  let seenVersion = 0;
  let versionChecked = false;
  const nextTurn = () => {
    versionChecked = false;
  };
  function dropIfWrittenElsewhere() {
    if (versionChecked) return;
    versionChecked = true;
    setImmediate(nextTurn).unref();
    const version = must(dataVersion.get(), 'data_version');
    if (version === seenVersion) return;
    seenVersion = version;
    cached.clear();
    linkCached.clear();
    onDrop();
  }

  if (cacheSize > 0) {
    sqlite.function(
      'microseg_uncache',
      { varargs: false },
      (links: unknown, site: unknown, id: unknown) => {
        const key = cacheKey(String(site), String(id));
        if (links) linkCached.delete(key);
        else cached.delete(key);
        return null;
      },
    );
    for (const [table, links] of [
      ['profiles', 0],
      ['profile_meta', 0],
      ['links', 1],
    ] as const) {
      const drop = (row: 'new' | 'old') =>
        `SELECT microseg_uncache(${links}, ${row}.site, ${row}.visitor);`;
      sqlite.exec(`
        CREATE TEMP TRIGGER microseg_uncache_${table}_insert AFTER INSERT ON main.${table} BEGIN ${drop('new')} END;
        CREATE TEMP TRIGGER microseg_uncache_${table}_update AFTER UPDATE ON main.${table} BEGIN ${drop('old')} END;
        CREATE TEMP TRIGGER microseg_uncache_${table}_rekey AFTER UPDATE ON main.${table}
          WHEN old.site IS NOT new.site OR old.visitor IS NOT new.visitor BEGIN ${drop('new')} END;
        CREATE TEMP TRIGGER microseg_uncache_${table}_delete AFTER DELETE ON main.${table} BEGIN ${drop('old')} END;`);
    }
    seenVersion = must(dataVersion.get(), 'data_version');
  }

  const admitted = admission(cacheSize);

  function segmentInputs(site: string, visitor: string, now = Date.now()): SegmentInputs {
    // First: a commit by another connection drops the cached quintiles with the rest.
    dropIfWrittenElsewhere();
    const rfm = rfmOf(site);
    if (cacheSize > 0) {
      const link = linkCached.get(cacheKey(site, visitor));
      if (link !== undefined) {
        const contact = link !== null && link.expires > now ? link.contact : null;
        const key = contact === null ? visitor : contactKey(contact);
        const hit = cached.get(cacheKey(site, key));
        if (hit) return { key, contact, stored: hit.stored, traits: hit.traits, entry: hit, rfm };
      }
    }
    const [linked, expires, data, updated, traitsText] = must(
      selectReadPath.get(site, visitor, now),
      'read path row',
    );
    const contact = linked !== null && must(expires, 'link expiry') > now ? linked : null;
    const key = contact === null ? visitor : contactKey(contact);
    const stored =
      data === null
        ? undefined
        : { profile: JSON.parse(data) as Profile, updated: must(updated, 'profile time') };
    const traits = traitsText ? (JSON.parse(traitsText) as Traits) : undefined;
    const entry: CachedInputs = { stored, traits, kept: false };
    // Committed rows only: inside a write group (a job's read, or any read while a group is open)
    // the row may still roll back.
    if (cacheSize > 0 && !sqlite.inTransaction && admitted(site, visitor)) {
      entry.kept = true;
      linkCached.set(
        cacheKey(site, visitor),
        linked === null ? null : { contact: linked, expires: must(expires, 'link expiry') },
      );
      cached.set(cacheKey(site, key), entry);
    }
    return { key, contact, stored, traits, entry, rfm };
  }

  return { segmentInputs, dropIfWrittenElsewhere };
}
