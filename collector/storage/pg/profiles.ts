/**
 * Events and profiles of the PostgreSQL backend: ingest, merge, the time-driven refresh, the
 * profile and history reads. Raw parameterized SQL with named (server-side prepared) statements:
 * the ingest path through drizzle measured 2.5× slower (/work/notes/pg.md). What a batch does to a
 * profile is ../fold.ts, shared with SQLite.
 *
 * Concurrency. Write jobs run concurrently, each in its own READ COMMITTED transaction, so a
 * profile's read-modify-write must hold a lock from the read to the commit, or two batches of
 * one visitor would both fold into the same old profile and one would be lost. The lock is a
 * transaction-scoped advisory lock on the profile's id (`lockProfiles`), taken BEFORE the read:
 * - it covers a first-time visitor, who has no row to lock yet (`SELECT … FOR UPDATE` finds
 *   nothing, and both batches would insert); insert-a-placeholder-then-lock would write a row
 *   that is not a profile, visible to the readers of committed rows as soon as it commits;
 * - it is one statement, and the read that follows (a new statement: READ COMMITTED takes a new
 *   snapshot) sees whatever the previous holder committed;
 * - it is released by COMMIT or ROLLBACK, as a row lock would be.
 * A linked device's batch folds into its contact's profile: `ingestSubject` reads the link and
 * takes the lock of the profile it names, and checks the link again once the lock is held, in one
 * call of microseg_ingest sent with BEGIN (see there).
 * Two ids that hash alike (64 bits) only wait for each other. A merge locks both profiles in
 * sorted order; a job that locks profiles in another order (an ingest, then a merge) may still
 * deadlock with another such job: PostgreSQL detects it (40P01) and the write path runs the job
 * that lost again (write.ts).
 */
import { contactKey, contactOfKey } from '../../identity/token.ts';
import type { Traits } from '../../identity/traits.ts';
import type {
  EngineConfig,
  Extras,
  Profile,
  RfmBreakpoints,
  SegmentChange,
} from '../../engine/index.ts';
import type { Segment } from '../../../shared/segment.ts';
import type {
  Change,
  HistoryEntry,
  IngestExtras,
  IngestResult,
  IngestSubject,
  Meta,
  NewEvent,
  StoredProfile,
  SubjectIngest,
} from '../contract.ts';
import { foldStored, type ProfileRow, settleIngest, settleMerge, settleRefresh } from '../fold.ts';
import type { Queryable } from './db.ts';
import { identityPg, metaOf } from './identity.ts';
import { sessionSql } from './sessions.ts';
import type { JobClient } from './write.ts';

const json = (v: object | undefined) => (v === undefined ? null : JSON.stringify(v));

/** The advisory lock key of a profile: `site` and profile id, hashed to 64 bits by the server. */
const LOCK_SQL = `pg_advisory_xact_lock(hashtextextended($1 || E'\\n' || $2, 0))`;
const LOCK_ONE = { name: 'microseg_lock_profile', text: `SELECT ${LOCK_SQL}` };

/** Takes the profiles' locks for the rest of the transaction, in sorted order. */
export async function lockProfiles(q: Queryable, site: string, keys: string[]): Promise<void> {
  for (const key of [...new Set(keys)].sort()) {
    await q.query({ ...LOCK_ONE, values: [site, key] });
  }
}

/** The lock of LOCK_SQL over SQL expressions (quoted literals, a column) rather than parameters. */
const lockLiteralSql = (q: JobClient, site: string, key: string) =>
  `pg_advisory_xact_lock(hashtextextended(${q.literal(site)} || E'\\n' || ${key}, 0))`;

/**
 * The first statement of `ingestSubject` for a visitor: the profile its link names at `now`
 * (`c:<contact>` while in force, as identity.subject), locked, as one simple-protocol statement
 * that travels with BEGIN (write.ts JobClient.first): the strings quoted by the server's rules,
 * `now` a whole number.
 */
function subjectLockSql(q: JobClient, site: string, visitor: string, now: number): string {
  const at = Math.floor(now);
  if (!Number.isSafeInteger(at)) throw new RangeError(`microseg: not a time: ${now}`);
  const s = q.literal(site);
  const v = q.literal(visitor);
  return `SELECT k.key, ${lockLiteralSql(q, site, 'k.key')} FROM (SELECT COALESCE(
    (SELECT 'c:' || contact FROM links WHERE site = ${s} AND visitor = ${v} AND expires > ${at}),
    ${v}) AS key) k`;
}

/**
 * Thrown when the link a job locked by moved before the lock was granted: the job is run again
 * (write.ts retries SQLSTATE 40001, a serialization failure, which this is).
 */
export class LinkMoved extends Error {
  readonly code = '40001';
  constructor() {
    super('microseg: the visitor was linked or unlinked meanwhile; the write runs again');
  }
}

// $4 is the session when the event brings one; else it is assigned here (sessions.ts).
const EVENT_VALUES = `INSERT INTO events (site, id, visitor, session, type, ts, received, url, ref, category, nav,
           target, outbound, value, currency, props, utm, bot, contact)
         VALUES ($1, $2, $3, COALESCE($4::text, ${sessionSql('$1', '$3', '$6::bigint', '$2')}),
           $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19)
         ON CONFLICT DO NOTHING`;
const INSERT_EVENT = { name: 'microseg_insert_event', text: EVENT_VALUES };
const SELECT_PROFILE = {
  name: 'microseg_select_profile',
  text: 'SELECT data, updated, segment, segments FROM profiles WHERE site = $1 AND visitor = $2',
  rowMode: 'array' as const,
};
/**
 * A batch's first event stored and the profile ($20) read, in one round trip (ingest's hot path:
 * a round trip is most of an ingest's cost). Run under the profile's lock, taken by an earlier
 * statement, so this statement's snapshot holds what the previous holder committed; the insert
 * does not touch the profile. Always one row: the profile is left-joined to a constant row.
 */
const INSERT_FIRST_READ_PROFILE = {
  name: 'microseg_insert_first_read_profile',
  text: `WITH ins AS (${EVENT_VALUES} RETURNING 1)
         SELECT (SELECT count(*) FROM ins)::int, p.data, p.updated, p.segment, p.segments
           FROM (SELECT 1) one LEFT JOIN profiles p ON p.site = $1 AND p.visitor = $20::text`,
  rowMode: 'array' as const,
};
/**
 * INSERT_FIRST_READ_PROFILE for ingestSubject: with the profile's meta, and the profile the link
 * of visitor $21 names now ($7, received; null $21: a contact's own events, the key $20 stands).
 */
const INSERT_FIRST_READ_SUBJECT = {
  name: 'microseg_insert_first_read_subject',
  text: `WITH ins AS (${EVENT_VALUES} RETURNING 1)
         SELECT (SELECT count(*) FROM ins)::int, p.data, p.updated, p.segment, p.segments,
                m.traits, m.first_touch, m.last_touch,
                CASE WHEN $21::text IS NULL THEN $20::text ELSE COALESCE(
                  (SELECT 'c:' || l.contact FROM links l
                    WHERE l.site = $1 AND l.visitor = $21::text AND l.expires > $7::bigint),
                  $21::text) END
           FROM (SELECT 1) one
           LEFT JOIN profiles p ON p.site = $1 AND p.visitor = $20::text
           LEFT JOIN profile_meta m ON m.site = $1 AND m.visitor = $20::text`,
  rowMode: 'array' as const,
};
type SubjectDbRow = [
  inserted: number,
  ...(ProfileDbRow | [null, null, null, null]),
  traits: string | null,
  firstTouch: string | null,
  lastTouch: string | null,
  key: string,
];

/**
 * Writes a profile and records its segment changes (arrays $12–$14 of kind, name, previous, in
 * order; empty when none) in one statement: the changes' `seq` follow their order.
 */
const SAVE_PROFILE = {
  name: 'microseg_save_profile',
  text: `WITH changes AS (
           INSERT INTO segment_changes (site, visitor, at, kind, name, previous, event, contact)
           SELECT $1, $2, $5, c.kind, c.name, c.previous, $15, $16
             FROM unnest($12::text[], $13::text[], $14::text[]) WITH ORDINALITY AS c(kind, name, previous, o)
            ORDER BY c.o
         )
         INSERT INTO profiles (site, visitor, first_seen, last_seen, updated, segment, data, segments, purchases,
           monetary, last_purchase)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8::jsonb, $9, $10, $11)
         ON CONFLICT (site, visitor) DO UPDATE SET
           first_seen = excluded.first_seen, last_seen = excluded.last_seen, updated = excluded.updated,
           segment = excluded.segment, data = excluded.data, segments = excluded.segments,
           purchases = excluded.purchases, monetary = excluded.monetary, last_purchase = excluded.last_purchase`,
};
const INSERT_CHANGE = {
  name: 'microseg_insert_change',
  text: `INSERT INTO segment_changes (site, visitor, at, kind, name, previous, event, contact)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
};
const DELETE_PROFILE = {
  name: 'microseg_delete_profile',
  text: 'DELETE FROM profiles WHERE site = $1 AND visitor = $2',
};
const SELECT_HISTORY = {
  name: 'microseg_select_history',
  text: `SELECT seq, at, kind, name, previous, event FROM segment_changes
         WHERE site = $1 AND visitor = $2 AND seq > $3 ORDER BY seq LIMIT $4`,
};
// The page's ids, locked (a statement of its own: the read after it must see what the previous
// holders committed, and one statement reads one snapshot, taken before it waited).
const LOCK_PAGE = {
  name: 'microseg_lock_page',
  text: `SELECT visitor, ${LOCK_SQL.replace('$2', 'visitor')} FROM (
           SELECT visitor FROM profiles WHERE site = $1 AND visitor > $2 ORDER BY visitor LIMIT $3
         ) page ORDER BY visitor`,
};
// Traits ride along in the page (a contact's profile has them): no lookup per profile.
const SELECT_PAGE = {
  name: 'microseg_select_page',
  text: `SELECT p.visitor, p.data, p.segment, p.segments, m.traits FROM profiles p
         LEFT JOIN profile_meta m ON m.site = p.site AND m.visitor = p.visitor
         WHERE p.site = $1 AND p.visitor = ANY($2::text[]) ORDER BY p.visitor`,
};
const UPDATE_SEGMENTS = {
  name: 'microseg_update_segments',
  text: 'UPDATE profiles SET segment = $1, segments = $2::jsonb WHERE site = $3 AND visitor = $4',
};

type ProfileDbRow = [data: string, updated: number, segment: string, segments: string[]];

const rowOf = (
  data: string | null,
  updated: number | null,
  segment: string | null,
  segments: string[] | null,
): ProfileRow | undefined =>
  data === null
    ? undefined
    : {
        profile: JSON.parse(data) as Profile,
        updated: updated ?? 0,
        key: segment ?? '',
        segments: segments ?? [],
      };

async function readRow(q: Queryable, site: string, key: string): Promise<ProfileRow | undefined> {
  const { rows } = await q.query<ProfileDbRow>({ ...SELECT_PROFILE, values: [site, key] });
  const row = rows[0];
  return row ? rowOf(...row) : undefined;
}

/** An event's values for EVENT_VALUES ($1–$19). */
function eventValues(
  site: string,
  visitor: string,
  contact: string | null,
  e: NewEvent,
  now: number,
): unknown[] {
  return [
    site,
    e.id,
    visitor,
    e.session ?? null,
    e.type,
    e.ts,
    now, // received
    e.url ?? null,
    e.ref ?? null,
    e.category ?? null,
    e.nav ?? null,
    e.target ?? null,
    e.outbound === undefined ? null : e.outbound ? 1 : 0,
    e.value ?? null,
    e.currency ?? null,
    json(e.props),
    json(e.utm),
    e.bot === true,
    contact,
  ];
}

/** A value of eventValues as a SQL literal; undefined when it cannot be one (a NUL character). */
function literalOf(q: JobClient, v: unknown): string | undefined {
  if (v === null || v === undefined) return 'NULL';
  if (typeof v === 'boolean') return v ? 'TRUE' : 'FALSE';
  if (typeof v === 'number') return Number.isFinite(v) ? String(v) : undefined;
  // A NUL would end the simple protocol's query string; as a parameter the server refuses it.
  if (typeof v === 'string') return v.includes('\0') ? undefined : q.literal(v);
  return undefined;
}

/** A row of microseg_ingest (drizzle-pg/0004_ingest_functions.sql). */
interface IngestFnRow {
  key: string;
  inserted: boolean[];
  data: string | null;
  updated: number | null;
  segment: string | null;
  segments: string[] | null;
  traits: string | null;
  first_touch: string | null;
  last_touch: string | null;
}

/**
 * A lone UTF-16 surrogate as JSON.stringify writes it (`\ud800`): jsonb refuses it, where the
 * parameterized insert stores U+FFFD (the driver's UTF-8 encoding), so such a batch goes that way.
 */
const LONE_SURROGATE = /\\ud[89a-f][0-9a-f]{2}/;

/**
 * A batch as microseg_ingest's `p_events`: each event's columns (eventValues' $2, $4–$18) by
 * name, in order. Undefined when one cannot travel in JSON as the parameterized insert would
 * store it: a NUL (jsonb refuses `\u0000`; a text column refuses NUL, 22021, which the
 * statement-by-statement way reports), a lone surrogate (LONE_SURROGATE) or a number JSON has no
 * word for (NaN, ±Infinity).
 */
function eventsJson(batch: NewEvent[]): string | undefined {
  const rows = [];
  for (const e of batch) {
    if (!Number.isFinite(e.ts) || (e.value != null && !Number.isFinite(e.value))) return undefined;
    rows.push({
      id: e.id,
      session: e.session ?? null,
      type: e.type,
      ts: e.ts,
      url: e.url ?? null,
      ref: e.ref ?? null,
      category: e.category ?? null,
      nav: e.nav ?? null,
      target: e.target ?? null,
      outbound: e.outbound === undefined ? null : e.outbound ? 1 : 0,
      value: e.value ?? null,
      currency: e.currency ?? null,
      props: json(e.props),
      utm: json(e.utm),
      bot: e.bot === true,
    });
  }
  const text = JSON.stringify(rows);
  return text.includes('\\u0000') || LONE_SURROGATE.test(text) ? undefined : text;
}

/**
 * Stores a batch's further events (after the first) in one round trip: the same INSERT for each
 * (sessions.ts: each event's session from the rows before it, the batch's earlier events
 * included), its parameters written as literals, the statements sent as one simple-protocol
 * message; each runs after the one before it and sees its row. Returns whether each was stored
 * (false: a duplicate id). An event with a value that cannot be a literal goes the parameterized
 * way, one statement each, with the rest of the batch after it.
 */
async function insertMore(
  q: JobClient,
  site: string,
  visitor: string,
  contact: string | null,
  events: NewEvent[],
  now: number,
): Promise<boolean[]> {
  const statements: string[] = [];
  for (const e of events) {
    const values = eventValues(site, visitor, contact, e, now).map((v) => literalOf(q, v));
    if (values.includes(undefined)) break;
    statements.push(
      EVENT_VALUES.replace(/\$(\d+)/g, (_, n: string) => values[Number(n) - 1] ?? ''),
    );
  }
  const stored: boolean[] = [];
  if (statements.length > 0) {
    for (const r of await q.simple(statements.join(';\n'))) stored.push((r.rowCount ?? 0) > 0);
  }
  for (const e of events.slice(statements.length)) {
    const r = await q.query({
      ...INSERT_EVENT,
      values: eventValues(site, visitor, contact, e, now),
    });
    stored.push((r.rowCount ?? 0) > 0);
  }
  return stored;
}

/**
 * Writes a profile with the columns derived from it (segment key, RFM inputs) for listing, and
 * records its segment changes (each naming the contact whose profile it is, for erasure), caused
 * by `event`.
 */
function saveProfile(
  q: Queryable,
  site: string,
  key: string,
  profile: Profile,
  segment: Segment,
  now: number,
  changes: SegmentChange[],
  event: string | null,
) {
  return q.query({
    ...SAVE_PROFILE,
    values: saveValues(site, key, profile, segment, now, changes, event),
  });
}

/**
 * saveProfile as an ingest's last statement: deferred (write.ts JobClient.defer), so it goes with
 * the job's COMMIT, or with whatever the job sends next, rather than in a round trip of its own.
 */
async function saveProfileDeferred(
  q: JobClient,
  site: string,
  key: string,
  profile: Profile,
  segment: Segment,
  now: number,
  changes: SegmentChange[],
  event: string | null,
): Promise<void> {
  const values = saveValues(site, key, profile, segment, now, changes, event);
  const sql = saveCall(q, values);
  if (sql === undefined) await q.query({ ...SAVE_PROFILE, values });
  else q.defer(sql);
}

function saveValues(
  site: string,
  key: string,
  profile: Profile,
  segment: Segment,
  now: number,
  changes: SegmentChange[],
  event: string | null,
): unknown[] {
  return [
    site,
    key,
    profile.firstSeen,
    profile.lastSeen,
    now,
    segment.segment,
    JSON.stringify(profile),
    JSON.stringify(segment.segments),
    profile.purchases.n,
    profile.purchases.total,
    profile.purchases.last,
    changes.map((c) => c.kind),
    changes.map((c) => c.name),
    changes.map((c) => c.previous),
    event,
    contactOfKey(key),
  ];
}

/**
 * SAVE_PROFILE as a call of microseg_save_profile (drizzle-pg/0004_ingest_functions.sql), its
 * parameters written as literals: a statement of the simple protocol that the server does not plan
 * (the function keeps its plans). Undefined when a value cannot be a literal (see literalOf).
 */
function saveCall(q: JobClient, values: unknown[]): string | undefined {
  const out: string[] = [];
  for (const v of values) {
    if (Array.isArray(v)) {
      const items = v.map((x) => literalOf(q, x));
      if (items.includes(undefined)) return undefined;
      out.push(`ARRAY[${items.join(',')}]::text[]`);
    } else {
      const l = literalOf(q, v);
      if (l === undefined) return undefined;
      out.push(l);
    }
  }
  return `SELECT microseg_save_profile(${out.join(',')})`;
}

/** Records a profile's segment changes; each row names the contact whose profile it is (erasure). */
async function recordChanges(
  q: Queryable,
  site: string,
  key: string,
  changes: SegmentChange[],
  at: number,
  event: string | null,
) {
  const contact = contactOfKey(key);
  for (const { kind, name, previous } of changes) {
    await q.query({
      ...INSERT_CHANGE,
      values: [site, key, at, kind, name, previous, event, contact],
    });
  }
}

/**
 * `breakpointsFor` reads the site's RFM quintiles on the Queryable given: a job's reads stay on its
 * own client (a job waiting for a second pooled connection could wait for ever).
 */
export function profilesPg(
  breakpointsFor: (site: string, q: Queryable) => Promise<RfmBreakpoints | null>,
) {
  /**
   * The rest of an ingest once the profile's lock is held and the first event stored with the
   * profile read (`first`): the batch's further events, then `settle`.
   */
  async function foldBatch(
    q: JobClient,
    site: string,
    visitor: string,
    key: string,
    batch: NewEvent[],
    engine: EngineConfig,
    now: number,
    traits: Extras['traits'],
    rfm: RfmBreakpoints | null,
    first: { inserted: boolean; stored: ProfileRow | undefined },
  ): Promise<{ result: IngestResult; change: Change | null }> {
    const more = await insertMore(q, site, visitor, contactOfKey(key), batch.slice(1), now);
    return settle(q, site, visitor, key, batch, engine, now, traits, rfm, first.stored, [
      first.inserted,
      ...more,
    ]);
  }

  /**
   * The fold of a stored batch (`inserted`: whether each event was stored) into the profile read
   * under its lock, and the profile's save, deferred to go with the job's next statement or its
   * COMMIT (saveProfileDeferred).
   */
  async function settle(
    q: JobClient,
    site: string,
    visitor: string,
    key: string,
    batch: NewEvent[],
    engine: EngineConfig,
    now: number,
    traits: Extras['traits'],
    rfm: RfmBreakpoints | null,
    stored: ProfileRow | undefined,
    inserted: boolean[],
  ): Promise<{ result: IngestResult; change: Change | null }> {
    const { profile, accepted, applied, cause } = foldStored(stored, batch, inserted, engine, now);
    const { segment, before, changes, change } = settleIngest(
      site,
      visitor,
      key,
      stored,
      profile,
      applied,
      engine,
      now,
      traits,
      rfm,
    );
    // No event applied: no change either (settleIngest), and the stored profile stands.
    if (applied > 0) await saveProfileDeferred(q, site, key, profile, segment, now, changes, cause);
    return {
      result: { accepted, duplicates: batch.length - accepted, segment, before, changes },
      change,
    };
  }

  /** Must run inside a write job (its client, its transaction). */
  async function ingest(
    q: JobClient,
    site: string,
    visitor: string,
    batch: NewEvent[],
    engine: EngineConfig,
    now: number,
    { profile: into, traits }: IngestExtras = {},
  ): Promise<{ result: IngestResult; change: Change | null }> {
    // Events are stored under the visitor that sent them; the profile may be its contact's, whose
    // id each row carries too, so erasing a contact takes exactly its rows of a shared device.
    const key = into ?? visitor;
    const rfm = await breakpointsFor(site, q);
    await lockProfiles(q, site, [key]);
    const first = batch[0];
    if (!first) {
      const stored = await readRow(q, site, key);
      return foldBatch(q, site, visitor, key, batch, engine, now, traits, rfm, {
        inserted: false,
        stored,
      });
    }
    const { rows } = await q.query<
      [inserted: number, ...(ProfileDbRow | [null, null, null, null])]
    >({
      ...INSERT_FIRST_READ_PROFILE,
      values: [...eventValues(site, visitor, contactOfKey(key), first, now), key],
    });
    const [inserted, data, updated, segment, segments] = rows[0] ?? [0, null, null, null, null];
    return foldBatch(q, site, visitor, key, batch, engine, now, traits, rfm, {
      inserted: inserted > 0,
      stored: rowOf(data, updated, segment, segments),
    });
  }

  /**
   * `StorageTx.ingestSubject` in two round trips for a batch of any size (BEGIN to COMMIT):
   * 1. BEGIN with a call of microseg_ingest (drizzle-pg/0004_ingest_functions.sql): the link of
   *    the visitor read, the lock on the profile it names at `now` (its contact's while in force,
   *    else its own) taken, the link read again, the batch's events stored (sessions as
   *    sessions.ts), the profile and its meta read; each of its statements takes its snapshot
   *    after the one before it, so what follows the lock holds what the previous holder committed;
   * 2. the profile saved with its segment changes (microseg_save_profile), deferred to go with the
   *    COMMIT (write.ts JobClient.defer), or with the job's next statement.
   * The calls are simple-protocol statements with literal arguments (to travel with BEGIN and
   * COMMIT); the statements inside keep their plans for the session (PL/pgSQL), so the server
   * plans nothing per batch. Measured (bench, paired runs): ~27 % less collector CPU per
   * one-event batch than the four round trips of statements, and half the server's CPU for ten.
   * The link read before the lock may have moved while the lock was waited for (a transaction
   * that committed in that wait made, moved or erased it): the call then fails with 40001 and
   * write.ts runs the job again, its first statement reading the link as committed. Once the lock
   * is held the link cannot move: identify links a visitor under the locks of both profiles
   * (mergeProfile) and erasure under the contact's; a renewal keeps the contact.
   * A batch that cannot travel as JSON (eventsJson) goes statement by statement (below).
   */
  async function ingestSubject(
    q: JobClient,
    site: string,
    who: IngestSubject,
    batch: NewEvent[],
    engine: EngineConfig,
    now: number,
  ): Promise<SubjectIngest & { change: Change | null }> {
    const events = batch.length > 0 ? eventsJson(batch) : undefined;
    const at = Math.floor(now);
    if (events === undefined || !Number.isSafeInteger(at)) {
      return ingestSubjectByStatements(q, site, who, batch, engine, now);
    }
    const linked = 'visitor' in who ? who.visitor : null;
    const rfm = await breakpointsFor(site, q);
    const [res] = await q.simple(
      `SELECT * FROM microseg_ingest(${q.literal(site)}, ${linked === null ? 'NULL' : q.literal(linked)}, ${'contact' in who ? q.literal(contactKey(who.contact)) : 'NULL'}, ${at}, ${q.literal(events)}::jsonb)`,
    );
    const row = res?.rows[0] as IngestFnRow | undefined;
    if (!row) throw new Error('microseg: microseg_ingest returned no row');
    const { key } = row;
    const visitor = linked ?? key;
    const meta = metaOf(row.traits, row.first_touch, row.last_touch);
    const { result, change } = await settle(
      q,
      site,
      visitor,
      key,
      batch,
      engine,
      now,
      meta?.traits,
      rfm,
      rowOf(row.data, row.updated, row.segment, row.segments),
      row.inserted,
    );
    return { result, change, key, known: key !== visitor || linked === null, meta };
  }

  /**
   * ingestSubject statement by statement, for a batch that cannot travel as microseg_ingest's
   * JSON (eventsJson), and an empty one: BEGIN with the link read and the lock
   * (`subjectLockSql`); the first event stored with the profile, its meta and the link read again
   * (a link that moved: LinkMoved, run again as above); further events in one message
   * (insertMore); the save with COMMIT.
   */
  async function ingestSubjectByStatements(
    q: JobClient,
    site: string,
    who: IngestSubject,
    batch: NewEvent[],
    engine: EngineConfig,
    now: number,
  ): Promise<SubjectIngest & { change: Change | null }> {
    const linked = 'visitor' in who ? who.visitor : null;
    let key: string;
    if ('contact' in who) {
      key = contactKey(who.contact);
      await q.simple(`SELECT ${lockLiteralSql(q, site, q.literal(key))}`);
    } else {
      const [res] = await q.simple(subjectLockSql(q, site, who.visitor, now));
      key = (res?.rows[0] as { key?: string } | undefined)?.key ?? who.visitor;
    }
    const visitor = linked ?? key;
    const rfm = await breakpointsFor(site, q);
    const first = batch[0];
    let inserted = 0;
    let stored: ProfileRow | undefined;
    let meta: Meta | undefined;
    let current = key;
    if (first) {
      const { rows } = await q.query<SubjectDbRow>({
        ...INSERT_FIRST_READ_SUBJECT,
        values: [...eventValues(site, visitor, contactOfKey(key), first, now), key, linked],
      });
      const row = rows[0];
      if (row) {
        const [n, data, updated, segment, segments, traits, firstTouch, lastTouch, k] = row;
        inserted = n;
        stored = rowOf(data, updated, segment, segments);
        meta = metaOf(traits, firstTouch, lastTouch);
        current = k;
      }
    } else {
      stored = await readRow(q, site, key);
      meta = await identityPg.meta(q, site, key);
      if (linked !== null) current = (await identityPg.subject(q, site, linked, now)).key;
    }
    if (current !== key) throw new LinkMoved();
    const { result, change } = await foldBatch(
      q,
      site,
      visitor,
      key,
      batch,
      engine,
      now,
      meta?.traits,
      rfm,
      { inserted: inserted > 0, stored },
    );
    return { result, change, key, known: key !== visitor || linked === null, meta };
  }

  /** Inside a savepoint of its own: a caller that catches the throw keeps a usable transaction. */
  async function mergeProfile(
    q: Queryable,
    site: string,
    from: string,
    into: string,
    engine: EngineConfig,
    now: number,
    { traits }: Pick<Extras, 'traits'> = {},
  ): Promise<{ segment: Segment | null; change: Change | null }> {
    const rfm = await breakpointsFor(site, q);
    await q.query('SAVEPOINT microseg_merge');
    try {
      await lockProfiles(q, site, [from, into]);
      const source = await readRow(q, site, from);
      let out: { segment: Segment | null; change: Change | null } = { segment: null, change: null };
      if (source) {
        const target = await readRow(q, site, into);
        const merged = settleMerge(site, from, into, source, target, engine, now, traits, rfm);
        await saveProfile(q, site, into, merged.profile, merged.segment, now, merged.changes, null);
        await q.query({ ...DELETE_PROFILE, values: [site, from] });
        out = { segment: merged.segment, change: merged.change };
      }
      await q.query('RELEASE SAVEPOINT microseg_merge');
      return out;
    } catch (err) {
      await q.query('ROLLBACK TO SAVEPOINT microseg_merge');
      await q.query('RELEASE SAVEPOINT microseg_merge');
      throw err;
    }
  }

  async function refreshSegments(
    q: Queryable,
    site: string,
    engine: EngineConfig,
    now: number,
    after: string,
    limit: number,
  ): Promise<{ next: string | null; changed: number; changes: Change[] }> {
    const rfm = await breakpointsFor(site, q);
    const page = await q.query<{ visitor: string }>({ ...LOCK_PAGE, values: [site, after, limit] });
    const ids = page.rows.map((r) => r.visitor);
    const told: Change[] = [];
    if (ids.length > 0) {
      const { rows } = await q.query<{
        visitor: string;
        data: string;
        segment: string;
        segments: string[];
        traits: string | null;
      }>({ ...SELECT_PAGE, values: [site, ids] });
      for (const row of rows) {
        const key = row.visitor;
        const settled = settleRefresh(
          site,
          key,
          JSON.parse(row.data) as Profile,
          { key: row.segment, segments: row.segments },
          engine,
          now,
          row.traits === null ? undefined : (JSON.parse(row.traits) as Traits),
          rfm,
        );
        if (!settled) continue;
        await recordChanges(q, site, key, settled.changes, now, null);
        told.push(settled.change);
        await q.query({
          ...UPDATE_SEGMENTS,
          values: [settled.segment.segment, JSON.stringify(settled.segment.segments), site, key],
        });
      }
    }
    return {
      next: ids.length === limit ? (ids.at(-1) ?? null) : null,
      changed: told.length,
      changes: told,
    };
  }

  return {
    ingest,
    ingestSubject,
    mergeProfile,
    refreshSegments,
    async profile(q: Queryable, site: string, visitor: string): Promise<StoredProfile | undefined> {
      const row = await readRow(q, site, visitor);
      return row && { profile: row.profile, updated: row.updated };
    },
    async segmentHistory(
      q: Queryable,
      site: string,
      visitor: string,
      opts: { after?: number; limit?: number },
    ): Promise<HistoryEntry[]> {
      const { rows } = await q.query<HistoryEntry>({
        ...SELECT_HISTORY,
        values: [site, visitor, opts.after ?? 0, Math.min(Math.max(opts.limit ?? 100, 1), 1000)],
      });
      return rows;
    },
    async countEvents(q: Queryable, site: string, visitor?: string): Promise<number> {
      const { rows } = visitor
        ? await q.query<{ n: number }>({
            name: 'microseg_count_visitor_events',
            text: 'SELECT count(*) AS n FROM events WHERE site = $1 AND visitor = $2',
            values: [site, visitor],
          })
        : await q.query<{ n: number }>({
            name: 'microseg_count_site_events',
            text: 'SELECT count(*) AS n FROM events WHERE site = $1',
            values: [site],
          });
      return rows[0]?.n ?? 0;
    },
  };
}

export type ProfilesPg = ReturnType<typeof profilesPg>;
