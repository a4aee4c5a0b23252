/**
 * The segment read path of the PostgreSQL backend: the reads of a moment go to the server as one
 * statement, and a read cache keeps parsed profiles, each use of which the server confirms.
 *
 * Why grouped. A read is three primary-key lookups (link, profile, traits) in one statement, as on
 * SQLite (READ_PATH_SQL in sqlite/reads.ts). The server's work is small; the collector's cost of a
 * statement (the protocol messages built, a socket write, the rows parsed) is most of a read's. The
 * reads that arrive in one turn of the event loop (and while a group is in flight, up to
 * MAX_GROUPS_IN_FLIGHT) share one statement over `unnest` arrays: one socket write for many reads.
 *
 * Why validated, not invalidated. Several collectors may share the database (issue 16), and a
 * segment read must show every event committed before it was asked, by whichever process. A cache
 * that waits to be told of changes (LISTEN/NOTIFY) can be behind the commit it is asked about, and
 * NOTIFY serialises the commits of every notifying transaction in the database. So the cache here
 * is never trusted alone: each read's statement returns the `xmin` (the id of the transaction that
 * wrote the row version) of the profile, the traits and the site's RFM quintiles it would read, and
 * their text only when it differs from the version cached. An unchanged profile is neither sent
 * nor parsed again, and the segment evaluated from it (the memo on the entry, identify.ts) is kept.
 * Every answer thus reflects the database as of a moment after the read was asked, whatever
 * process wrote it: a changed row has a new `xmin` (each write is a new row version; a row deleted
 * and written again is too), and an unchanged one cannot have changed. Link rows are small and
 * returned each time.
 *
 * Inside a write job, a read goes to the job's connection alone (its own uncommitted rows) and
 * neither uses nor fills the cache.
 */
import type pg from 'pg';
import { contactKey } from '../../identity/token.ts';
import type { Traits } from '../../identity/traits.ts';
import type { Profile, RfmBreakpoints } from '../../engine/index.ts';
import type { CachedInputs, SegmentInputs } from '../contract.ts';
import { admission, DEFAULT_PROFILE_CACHE, Lru } from '../read-cache.ts';
import type { Queryable } from './db.ts';
import { breakpointsOfRow } from './rfm.ts';

/** The link, then the profile and traits of whichever profile it reads (its contact's while in force). */
export const PG_READ_PATH_SQL = `SELECT l.contact, l.expires, p.data, p.updated, m.traits
         FROM (SELECT $1::text AS site, $2::text AS visitor, $3::bigint AS now) q
         LEFT JOIN links l ON l.site = q.site AND l.visitor = q.visitor
         LEFT JOIN profiles p ON p.site = q.site
           AND p.visitor = CASE WHEN l.expires > q.now THEN 'c:' || l.contact ELSE q.visitor END
         LEFT JOIN profile_meta m ON m.site = q.site
           AND m.visitor = CASE WHEN l.expires > q.now THEN 'c:' || l.contact ELSE q.visitor END`;

const READ_PATH = { name: 'microseg_read_path', text: PG_READ_PATH_SQL, rowMode: 'array' as const };

/**
 * The grouped read: one row per read, in the order asked (`i`). Per read: the site, the visitor,
 * its `now`, and the versions it has cached (profile id, profile xmin, traits xmin, quintiles
 * xmin; NULL when none): a row's text comes back only when its version differs.
 */
export const PG_GROUP_READ_SQL = `SELECT l.contact, l.expires,
         p.visitor, p.xmin::text, p.updated,
         CASE WHEN p.visitor = q.key AND p.xmin::text = q.pv THEN NULL ELSE p.data END,
         m.xmin::text,
         CASE WHEN m.visitor = q.key AND m.xmin::text = q.mv THEN NULL ELSE m.traits END,
         r.xmin::text, r.computed::float8, r.customers,
         CASE WHEN r.xmin::text = q.rv THEN NULL ELSE r.recency END,
         CASE WHEN r.xmin::text = q.rv THEN NULL ELSE r.frequency END,
         CASE WHEN r.xmin::text = q.rv THEN NULL ELSE r.monetary END
    FROM unnest($1::text[], $2::text[], $3::bigint[], $4::text[], $5::text[], $6::text[], $7::text[])
         WITH ORDINALITY AS q(site, visitor, now, key, pv, mv, rv, i)
    LEFT JOIN links l ON l.site = q.site AND l.visitor = q.visitor
    LEFT JOIN profiles p ON p.site = q.site
      AND p.visitor = CASE WHEN l.expires > q.now THEN 'c:' || l.contact ELSE q.visitor END
    LEFT JOIN profile_meta m ON m.site = q.site
      AND m.visitor = CASE WHEN l.expires > q.now THEN 'c:' || l.contact ELSE q.visitor END
    LEFT JOIN rfm_breakpoints r ON r.site = q.site
   ORDER BY q.i`;

const GROUP_READ = {
  name: 'microseg_group_read',
  text: PG_GROUP_READ_SQL,
  rowMode: 'array' as const,
};

/** Statements of grouped reads on their way at once; a read asked meanwhile joins the next group. */
export const MAX_GROUPS_IN_FLIGHT = 2;
/** Reads in one statement at most (a larger backlog goes as several). */
export const MAX_GROUP = 256;

type ReadRow = [
  contact: string | null,
  expires: number | null,
  data: string | null,
  updated: number | null,
  traits: string | null,
];

type GroupRow = [
  contact: string | null,
  expires: number | null,
  key: string | null,
  pv: string | null,
  updated: number | null,
  data: string | null,
  mv: string | null,
  traits: string | null,
  rv: string | null,
  computed: number | null,
  customers: number | null,
  recency: string | null,
  frequency: string | null,
  monetary: string | null,
];

/** A read on one connection (a write job's): the job's own rows, no cache. */
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

/** What the cache keeps per visitor: the inputs and the row versions they were read from. */
interface Cached {
  /** The profile id read (the visitor's own, or its contact's `c:` id). */
  key: string;
  pv: string | null;
  mv: string | null;
  inputs: CachedInputs;
}

interface Pending {
  site: string;
  visitor: string;
  now: number;
  cached: Cached | undefined;
  resolve(inputs: SegmentInputs): void;
  reject(err: unknown): void;
}

export interface PgReadPath {
  segmentInputs(site: string, visitor: string, now?: number): Promise<SegmentInputs>;
}

/** `profileCache`: visitors kept (DEFAULT_PROFILE_CACHE when undefined, 0: none). */
export function pgReadPath(pool: pg.Pool, profileCache: number | undefined): PgReadPath {
  const cacheSize = Math.max(0, profileCache ?? DEFAULT_PROFILE_CACHE);
  const cache = new Lru<Cached>(cacheSize); // site, visitor
  const admitted = admission(cacheSize);
  const cacheKey = (site: string, visitor: string) => `${site}\n${visitor}`;
  /**
   * Site → its quintiles and their row version. The same object while the row is unchanged: the
   * memo compares quintiles by identity. As many entries as sites with profiles read.
   */
  const quintiles = new Map<string, { rv: string | null; bp: RfmBreakpoints | null }>();

  let queue: Pending[] = [];
  let inFlight = 0;
  let scheduled = false;

  function settle(p: Pending, row: GroupRow) {
    const [linked, expires, key, pv, updated, data, mv, traitsText, rv] = row;
    const contact = linked !== null && expires !== null && expires > p.now ? linked : null;
    const id = contact === null ? p.visitor : contactKey(contact);
    const known = p.cached;
    // Each unchanged part is taken from the cache, each changed one from the row.
    const sameProfile = known !== undefined && known.key === id && known.pv === pv;
    const sameTraits = known !== undefined && known.key === id && known.mv === mv;
    let inputs: CachedInputs;
    if (known !== undefined && sameProfile && sameTraits) inputs = known.inputs;
    else {
      const stored = sameProfile
        ? known.inputs.stored
        : data === null || key === null
          ? undefined
          : { profile: JSON.parse(data) as Profile, updated: updated ?? 0 };
      const traits = sameTraits
        ? known.inputs.traits
        : traitsText
          ? (JSON.parse(traitsText) as Traits)
          : undefined;
      inputs = { stored, traits, kept: false };
      if (cacheSize > 0 && (known !== undefined || admitted(p.site, p.visitor))) {
        inputs.kept = true;
        cache.set(cacheKey(p.site, p.visitor), { key: id, pv, mv, inputs });
      }
    }
    p.resolve({
      key: id,
      contact,
      stored: inputs.stored,
      traits: inputs.traits,
      entry: inputs,
      rfm: quintilesOf(p.site, rv, row),
    });
  }

  function quintilesOf(site: string, rv: string | null, row: GroupRow): RfmBreakpoints | null {
    const known = quintiles.get(site);
    if (known !== undefined && known.rv === rv) return known.bp;
    const [, , , , , , , , , computed, customers, recency, frequency, monetary] = row;
    const bp =
      rv === null || recency === null || frequency === null || monetary === null
        ? null
        : breakpointsOfRow({
            computed: computed ?? 0,
            customers: customers ?? 0,
            recency,
            frequency,
            monetary,
          });
    quintiles.set(site, { rv, bp });
    return bp;
  }

  function send() {
    scheduled = false;
    while (queue.length > 0 && inFlight < MAX_GROUPS_IN_FLIGHT) {
      const group = queue.length > MAX_GROUP ? queue.splice(0, MAX_GROUP) : queue;
      if (group === queue) queue = [];
      inFlight++;
      const n = group.length;
      const cols: (string | number | null)[][] = [[], [], [], [], [], [], []];
      for (const p of group) {
        const c = p.cached;
        cols[0]?.push(p.site);
        cols[1]?.push(p.visitor);
        cols[2]?.push(p.now);
        cols[3]?.push(c?.key ?? null);
        cols[4]?.push(c?.pv ?? null);
        cols[5]?.push(c?.mv ?? null);
        cols[6]?.push(quintiles.get(p.site)?.rv ?? null);
      }
      pool.query<GroupRow>({ ...GROUP_READ, values: cols }).then(
        ({ rows }) => {
          done();
          for (let i = 0; i < n; i++) {
            const p = group[i] as Pending;
            const row = rows[i];
            try {
              if (row === undefined) throw new Error('microseg: a grouped read lost a row');
              settle(p, row);
            } catch (err) {
              p.reject(err);
            }
          }
        },
        (err: unknown) => {
          done();
          for (const p of group) p.reject(err);
        },
      );
    }
  }

  function done() {
    inFlight--;
    if (queue.length > 0 && !scheduled) send();
  }

  return {
    segmentInputs(site, visitor, now = Date.now()) {
      return new Promise<SegmentInputs>((resolve, reject) => {
        const cached = cacheSize > 0 ? cache.get(cacheKey(site, visitor)) : undefined;
        queue.push({ site, visitor, now, cached, resolve, reject });
        // The reads of this turn of the event loop go together.
        if (!scheduled && inFlight < MAX_GROUPS_IN_FLIGHT) {
          scheduled = true;
          setImmediate(send);
        }
      });
    },
  };
}
