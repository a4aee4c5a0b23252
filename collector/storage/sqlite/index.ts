/**
 * Every query of the collector lives here, so a second backend (PostgreSQL) is an added
 * module, not a rewrite. Hot paths use prepared statements.
 */
import { and, asc, eq, gt, sql } from 'drizzle-orm';
import { openDb, type Db } from './db/open.ts';
import { events, segmentChanges } from './db/schema.ts';
import { rfmStore } from './rfm.ts';
import { quarantineStore } from './quarantine.ts';
import { sessionAssigner } from './sessions.ts';
import { openOutbox, type Outbox } from '../webhooks/outbox.ts';
import { identityStore, type IdentityStore } from './identity-store.ts';
import { Lru } from './read-cache.ts';
import { startCheckpointer } from './checkpointer.ts';
import { contactKey, contactOfKey } from '../identity/token.ts';
import type { Traits } from '../identity/traits.ts';
import {
  applyEvent,
  diffSegments,
  emptyProfile,
  evaluate,
  mergeProfiles,
  type EngineConfig,
  type Extras,
  type Profile,
  type RfmBreakpoints,
  type SegmentChange,
} from '../engine/index.ts';
import type { Segment } from '../../shared/segment.ts';
import type { Props, Utm } from '../../shared/wire.ts';
import { must } from '../../shared/must.ts';

/** An event ready to store: validated, clamped, categorized. */
export interface NewEvent {
  id: string;
  type: string;
  ts: number;
  session?: string | undefined;
  url?: string | undefined;
  ref?: string | undefined;
  category?: string | undefined;
  nav?: string | undefined;
  target?: string | undefined;
  outbound?: boolean | undefined;
  value?: number | undefined;
  currency?: string | undefined;
  props?: Props | undefined;
  utm?: Utm | undefined;
  /** From a bot or automation: stored, but kept out of the profile. */
  bot?: boolean | undefined;
}

export interface IngestResult {
  accepted: number;
  duplicates: number;
  segment: Segment;
  /** The key and custom segments stored before this batch (null key: a new visitor). */
  before: { key: string | null; segments: string[] };
  /** What this batch changed, as recorded in `segment_changes` (same transaction). */
  changes: SegmentChange[];
}

/** One row of a visitor's segment history. */
export interface HistoryEntry extends SegmentChange {
  seq: number;
  at: number;
  /** Id of the last event of the batch that caused the change. */
  event: string | null;
}

/**
 * Told of each batch's segment changes inside the ingest transaction, after they are recorded:
 * whatever it writes commits or rolls back with them (the webhook outbox). It must not block.
 */
export type ChangeListener = (change: {
  site: string;
  /** The visitor whose events (or identify) caused the change. */
  visitor: string;
  /** The profile that changed: the visitor's own id, or its contact's `c:<contact>`. */
  profile: string;
  before: { key: string | null; segments: string[] };
  segment: Segment;
  changes: SegmentChange[];
  at: number;
}) => void;

export interface IngestExtras extends Pick<Extras, 'traits'> {
  /** The profile the events fold into when not the visitor's own (a linked contact's `c:<contact>`). */
  profile?: string | undefined;
}

export interface StoredProfile {
  profile: Profile;
  updated: number;
}

/**
 * A profile and its traits as the read cache keeps them. `memo` is for the reader: an answer
 * computed from exactly these inputs (identify.ts keeps the evaluated segment there). A write drops
 * the whole entry, so whatever hangs on it goes with the inputs it came from.
 */
export interface CachedInputs {
  readonly stored: StoredProfile | undefined;
  readonly traits: Traits | undefined;
  /** In the read cache (false: made for this read only; a memo on it would be lost). */
  kept: boolean;
  memo?: unknown;
}

/** What a segment read needs: the visitor's link, and the profile and traits it reads from. */
export interface SegmentInputs {
  /** The profile read: the visitor's own id, or its contact's `c:<contact>`. */
  key: string;
  contact: string | null;
  /** Shared with the read cache: never mutate it (the engine does not). */
  stored: StoredProfile | undefined;
  traits: Traits | undefined;
  /** The cache entry of these inputs (a fresh one when the read was not cached), for a memo. */
  entry: CachedInputs;
}

export interface StorageOptions {
  /** Profiles kept parsed in memory for segment reads (0: none); DEFAULT_PROFILE_CACHE when omitted. */
  profileCache?: number | undefined;
  /**
   * WAL checkpoints from a worker thread every this many ms (checkpointer.ts), so that the
   * writer never waits for them; by the writer itself, inside the commit (SQLite's default),
   * when omitted.
   */
  checkpointEveryMs?: number | undefined;
  /** Told when a background checkpoint fails (it is tried again on the next tick). */
  onCheckpointError?: ((message: string) => void) | undefined;
}

/** About 2.4 KB of heap each for a profile of ten events: ~12 MB, more for long windows. */
export const DEFAULT_PROFILE_CACHE = 5_000;

/*
 * Admission: a visitor enters a cache on its second use within the last `size` misses. Uses
 * spread evenly over many more visitors than the cache holds would otherwise replace an entry on
 * almost every use, and each replaced entry is old-generation garbage (at 1M events the heap grew
 * to 140 MB and reads ran at half speed). One byte per hash slot, no allocation.
 */
function admission(size: number): (site: string, visitor: string) => boolean {
  const seenOnce = new Uint8Array(1 << 16);
  let missesSinceReset = 0;
  return (site, visitor) => {
    let h = 0x811c9dc5; // FNV-1a
    for (let i = 0; i < site.length; i++) h = Math.imul(h ^ site.charCodeAt(i), 0x01000193);
    for (let i = 0; i < visitor.length; i++) h = Math.imul(h ^ visitor.charCodeAt(i), 0x01000193);
    const slot = h & 0xffff;
    if (seenOnce[slot] === 1) return true;
    seenOnce[slot] = 1;
    if (++missesSinceReset >= size) {
      seenOnce.fill(0);
      missesSinceReset = 0;
    }
    return false;
  };
}

export interface Storage {
  /**
   * Stores the events, folds the new ones into the visitor's profile and records any segment
   * change, in one transaction (the caller's when it is in one: a throw must roll that back).
   * `extras.traits` reach custom rules (`trait.<name>`).
   */
  ingest(
    site: string,
    visitor: string,
    batch: NewEvent[],
    engine: EngineConfig,
    now: number,
    extras?: IngestExtras,
  ): IngestResult;
  /**
   * Folds profile `from` into profile `into` (identify: an anonymous visitor into its contact)
   * with the engine's `mergeProfiles`, and deletes `from`, in one transaction: merged once only.
   */
  mergeProfile(
    site: string,
    from: string,
    into: string,
    engine: EngineConfig,
    now: number,
    extras?: Pick<Extras, 'traits'>,
  ): Segment | null;
  profile(site: string, visitor: string): StoredProfile | undefined;
  /**
   * The segment read path at `now` (default: the wall clock): the visitor's link when in force,
   * its profile and traits — one statement of primary-key lookups, or none when the read cache
   * holds them.
   */
  segmentInputs(site: string, visitor: string, now?: number): SegmentInputs;
  /** A visitor's segment changes, oldest first, after the `after` cursor (a `seq`). */
  segmentHistory(
    site: string,
    visitor: string,
    opts?: { after?: number; limit?: number },
  ): HistoryEntry[];
  /** The site's RFM quintiles (cached in memory; null until enough customers). */
  rfmBreakpoints(site: string): RfmBreakpoints | null;
  /** Recomputes the site's quintiles from its customers; null (fixed thresholds) under `minCustomers`. */
  recomputeRfm(site: string, minCustomers: number, now: number): RfmBreakpoints | null;
  /** Event count of a site (or of one visitor). */
  countEvents(site: string, visitor?: string): number;
  /** Refused events kept with their reason. */
  readonly quarantine: ReturnType<typeof quarantineStore>;
  /** The webhook outbox (its statements prepared once, shared by the worker, the admin API and retention). */
  readonly outbox: Outbox;
  /** Visitor → contact links, traits and campaign attribution. */
  readonly identity: IdentityStore;
  /** Adds a listener of segment changes (runs inside the ingest transaction). */
  onChanges(listener: ChangeListener): void;
  /**
   * Re-evaluates up to `limit` stored profiles of a site after the `after` profile id, at `now`,
   * and records what time alone changed (a window emptied, a customer lapsed) as a write would:
   * segment history, change listeners, the stored key and custom segments. Returns the cursor
   * to go on from (null at the end) and how many profiles changed.
   */
  refreshSegments(
    site: string,
    engine: EngineConfig,
    now: number,
    after: string,
    limit: number,
  ): { next: string | null; changed: number };
  readonly db: Db;
  close(): void;
}

const json = (v: object | undefined) => (v === undefined ? null : JSON.stringify(v));

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

export function openStorage(file: string, opts: StorageOptions = {}): Storage {
  const db = openDb(file);
  const sqlite = db.$client;
  const p = sql.placeholder;
  const checkpointer =
    opts.checkpointEveryMs && file !== ':memory:'
      ? startCheckpointer(sqlite, file, opts.checkpointEveryMs, opts.onCheckpointError)
      : null;

  // The ingest statements are plain better-sqlite3 ones: drizzle's per-call parameter mapping
  // showed in the ingest profile (with the rest of that change: 0.64× → 0.78× of the baseline).
  // Positional parameters: binding 19 named ones looks each up on an object, ~2 µs per event more.
  const insertEvent = sqlite.prepare(
    `INSERT INTO events (site, id, visitor, session, type, ts, received, url, ref, category, nav, target, outbound,
       value, currency, props, utm, bot, contact)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
     ON CONFLICT DO NOTHING`,
  );
  // Browser events come without a session: it is assigned here (collector/storage/sessions.ts).
  const sessionOf = sessionAssigner(sqlite);

  // Plain statements on the read paths: drizzle maps every row and parameter on each call.
  const selectProfile = sqlite
    .prepare<[string, string], [data: string, updated: number, segment: string, segments: string]>(
      'SELECT data, updated, segment, segments FROM profiles WHERE site = ? AND visitor = ?',
    )
    .raw();
  // The segment read: the visitor's link, then the profile and traits of whichever profile it
  // reads (its contact's once linked). Always one row: the constant row is left-joined.
  type ReadRow = [
    contact: string | null,
    expires: number | null,
    data: string | null,
    updated: number | null,
    traits: string | null,
  ];
  const selectReadPath = sqlite.prepare<[string, string, number], ReadRow>(READ_PATH_SQL).raw();

  const upsertProfile = sqlite.prepare(
    `INSERT INTO profiles (site, visitor, first_seen, last_seen, updated, segment, data, segments, purchases, monetary, last_purchase)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
     ON CONFLICT (site, visitor) DO UPDATE SET
       first_seen = excluded.first_seen, last_seen = excluded.last_seen, updated = excluded.updated,
       segment = excluded.segment, data = excluded.data, segments = excluded.segments,
       purchases = excluded.purchases, monetary = excluded.monetary, last_purchase = excluded.last_purchase`,
  );

  /** Writes a profile with the columns derived from it (segment key, RFM inputs) for listing. */
  const saveProfile = (
    site: string,
    key: string,
    profile: Profile,
    segment: Segment,
    now: number,
  ) =>
    upsertProfile.run(
      site,
      key,
      profile.firstSeen,
      profile.lastSeen,
      now, // updated
      segment.segment,
      JSON.stringify(profile),
      JSON.stringify(segment.segments),
      profile.purchases.n,
      profile.purchases.total,
      profile.purchases.last,
    );

  const insertChange = sqlite.prepare(
    `INSERT INTO segment_changes (site, visitor, at, kind, name, previous, event, contact)
     VALUES (@site, @visitor, @at, @kind, @name, @previous, @event, @contact)`,
  );
  /** Records a profile's segment changes; each row names the contact whose profile it is (erasure). */
  const recordChanges = (
    site: string,
    key: string,
    changes: SegmentChange[],
    at: number,
    event: string | null,
  ) => {
    const contact = contactOfKey(key);
    for (const { kind, name, previous } of changes) {
      insertChange.run({ site, visitor: key, at, kind, name, previous, event, contact });
    }
  };

  const selectHistory = db
    .select({
      seq: segmentChanges.seq,
      at: segmentChanges.at,
      kind: segmentChanges.kind,
      name: segmentChanges.name,
      previous: segmentChanges.previous,
      event: segmentChanges.event,
    })
    .from(segmentChanges)
    .where(
      and(
        eq(segmentChanges.site, p('site')),
        eq(segmentChanges.visitor, p('visitor')),
        gt(segmentChanges.seq, p('after')),
      ),
    )
    .orderBy(asc(segmentChanges.seq))
    .limit(p('limit'))
    .prepare();

  // RFM quintiles (storage/rfm.ts). A commit by another connection (`microseg rfm` on the file)
  // drops them with the read cache, so the next read takes the new ones.
  const rfm = rfmStore(db);
  const breakpointsFor = (site: string) => {
    dropIfWrittenElsewhere();
    return rfm.breakpoints(site);
  };

  interface ProfileRow extends StoredProfile {
    key: string;
    segments: string[];
  }

  function readRow(site: string, visitor: string): ProfileRow | undefined {
    const row = selectProfile.get(site, visitor);
    return row
      ? {
          profile: JSON.parse(row[0]) as Profile,
          updated: row[1],
          key: row[2],
          segments: JSON.parse(row[3]) as string[],
        }
      : undefined;
  }

  /*
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
   */
  const cacheSize = Math.max(0, opts.profileCache ?? DEFAULT_PROFILE_CACHE);
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
  /** Drops every cached entry when another connection committed since the last turn. */
  function dropIfWrittenElsewhere() {
    if (versionChecked) return;
    versionChecked = true;
    setImmediate(nextTurn).unref();
    const version = must(dataVersion.get(), 'data_version');
    if (version === seenVersion) return;
    seenVersion = version;
    cached.clear();
    linkCached.clear();
    rfm.clear();
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

  /*
   * Admission: a visitor enters the cache on its second read within the last `cacheSize`
   * misses. Reads spread evenly over many more visitors than the cache holds would otherwise
   * replace an entry on almost every read, and each replaced entry is old-generation garbage
   * (at 1M events the heap grew to 140 MB and reads ran at half speed). One byte per hash slot,
   * no allocation.
   */
  const admitted = admission(cacheSize);

  function segmentInputs(site: string, visitor: string, now = Date.now()): SegmentInputs {
    if (cacheSize > 0) {
      dropIfWrittenElsewhere();
      const link = linkCached.get(cacheKey(site, visitor));
      if (link !== undefined) {
        const contact = link !== null && link.expires > now ? link.contact : null;
        const key = contact === null ? visitor : contactKey(contact);
        const hit = cached.get(cacheKey(site, key));
        if (hit) return { key, contact, stored: hit.stored, traits: hit.traits, entry: hit };
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
    if (cacheSize > 0 && !sqlite.inTransaction && admitted(site, visitor)) {
      entry.kept = true;
      linkCached.set(
        cacheKey(site, visitor),
        linked === null ? null : { contact: linked, expires: must(expires, 'link expiry') },
      );
      cached.set(cacheKey(site, key), entry);
    }
    return { key, contact, stored, traits, entry };
  }

  function readProfile(site: string, visitor: string): StoredProfile | undefined {
    const row = readRow(site, visitor);
    return row && { profile: row.profile, updated: row.updated };
  }

  const listeners: ChangeListener[] = [];

  const ingestRows = (
    site: string,
    visitor: string,
    batch: NewEvent[],
    engine: EngineConfig,
    now: number,
    { profile: into, ...extras }: IngestExtras = {},
  ): IngestResult => {
    // Events are stored under the visitor that sent them; the profile may be its contact's, whose
    // id each row carries too, so erasing a contact takes exactly its rows of a shared device.
    const key = into ?? visitor;
    const contact = contactOfKey(key);
    const stored = readRow(site, key);
    let profile = stored?.profile ?? emptyProfile(batch[0]?.ts ?? now);
    let accepted = 0;
    let applied = 0;
    let cause: string | null = null;
    for (const e of batch) {
      const res = insertEvent.run(
        site,
        e.id,
        visitor,
        e.session ?? sessionOf(site, visitor, e.ts, e.id),
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
        e.bot ? 1 : 0,
        contact,
      );
      // A duplicate id changes no row: the event was counted when it first arrived.
      if (res.changes === 0) continue;
      accepted++;
      if (e.bot) continue;
      applied++;
      cause = e.id;
      profile = applyEvent(profile, e, engine);
    }
    // Known when the events fold into a contact's profile: rules on `known` must agree with the sweep's evaluation.
    const segment = evaluate(profile, { site, visitor, known: contact !== null }, engine, now, {
      ...extras,
      rfm: breakpointsFor(site),
    });
    const before = { key: stored?.key ?? null, segments: stored?.segments ?? [] };
    // Compared with the state stored at the last write: a change made by time alone shows here.
    const changes =
      applied > 0 ? diffSegments(before, { key: segment.segment, segments: segment.segments }) : [];
    recordChanges(site, key, changes, now, cause);
    if (changes.length > 0)
      for (const l of listeners)
        l({ site, visitor, profile: key, before, segment, changes, at: now });
    if (applied > 0) {
      saveProfile(site, key, profile, segment, now);
    }
    return { accepted, duplicates: batch.length - accepted, segment, before, changes };
  };
  const ingestTx = sqlite.transaction(ingestRows);

  const deleteProfile = db.$client.prepare<[string, string]>(
    'DELETE FROM profiles WHERE site = ? AND visitor = ?',
  );

  const mergeProfile = db.$client.transaction(
    (
      site: string,
      from: string,
      into: string,
      engine: EngineConfig,
      now: number,
      extras: Pick<Extras, 'traits'> = {},
    ): Segment | null => {
      const source = readRow(site, from);
      if (!source) return null;
      const target = readRow(site, into);
      const profile = target
        ? mergeProfiles(target.profile, source.profile, engine)
        : source.profile;
      const segment = evaluate(profile, { site, visitor: into, known: true }, engine, now, {
        ...extras,
        rfm: breakpointsFor(site),
      });
      const before = { key: target?.key ?? null, segments: target?.segments ?? [] };
      const changes = diffSegments(before, { key: segment.segment, segments: segment.segments });
      recordChanges(site, into, changes, now, null);
      if (changes.length > 0)
        for (const l of listeners)
          l({ site, visitor: from, profile: into, before, segment, changes, at: now });
      saveProfile(site, into, profile, segment, now);
      deleteProfile.run(site, from);
      return segment;
    },
  );

  // Traits ride along in the page (a contact's profile has them): no lookup per profile.
  const selectPage = db.$client.prepare<
    [string, string, number],
    { visitor: string; data: string; segment: string; segments: string; traits: string | null }
  >(
    `SELECT p.visitor, p.data, p.segment, p.segments, m.traits FROM profiles p
     LEFT JOIN profile_meta m ON m.site = p.site AND m.visitor = p.visitor
     WHERE p.site = ? AND p.visitor > ? ORDER BY p.visitor LIMIT ?`,
  );
  const updateSegments = db.$client.prepare<[string, string, string, string]>(
    'UPDATE profiles SET segment = ?, segments = ? WHERE site = ? AND visitor = ?',
  );

  const refreshSegments = db.$client.transaction(
    (site: string, engine: EngineConfig, now: number, after: string, limit: number) => {
      const rows = selectPage.all(site, after, limit);
      const rfm = breakpointsFor(site);
      let changed = 0;
      for (const row of rows) {
        const key = row.visitor;
        const profile = JSON.parse(row.data) as Profile;
        const segment = evaluate(
          profile,
          { site, visitor: key, known: contactOfKey(key) !== null },
          engine,
          now,
          { traits: row.traits === null ? undefined : (JSON.parse(row.traits) as Traits), rfm },
        );
        const before = { key: row.segment, segments: JSON.parse(row.segments) as string[] };
        const changes = diffSegments(before, { key: segment.segment, segments: segment.segments });
        if (changes.length === 0) continue;
        changed++;
        recordChanges(site, key, changes, now, null);
        for (const l of listeners)
          l({ site, visitor: key, profile: key, before, segment, changes, at: now });
        updateSegments.run(segment.segment, JSON.stringify(segment.segments), site, key);
      }
      return { next: rows.length === limit ? (rows.at(-1)?.visitor ?? null) : null, changed };
    },
  );

  return {
    db,
    identity: identityStore(db),
    mergeProfile: (site, from, into, engine, now, extras) =>
      mergeProfile(site, from, into, engine, now, extras),
    quarantine: quarantineStore(db),
    outbox: openOutbox(db),
    // Inside a caller's transaction (a write-queue job) a savepoint of its own would only add two
    // statements: the caller's rolls the batch back with the rest of the job.
    ingest: (site, visitor, batch, engine, now, extras) =>
      (sqlite.inTransaction ? ingestRows : ingestTx)(site, visitor, batch, engine, now, extras),
    profile: readProfile,
    segmentInputs,
    segmentHistory: (site, visitor, opts = {}) =>
      selectHistory.all({
        site,
        visitor,
        after: opts.after ?? 0,
        limit: Math.min(Math.max(opts.limit ?? 100, 1), 1000),
      }),
    onChanges: (l) => void listeners.push(l),
    refreshSegments: (site, engine, now, after, limit) =>
      refreshSegments(site, engine, now, after, limit),
    rfmBreakpoints: breakpointsFor,
    recomputeRfm: rfm.recompute,
    countEvents(site, visitor) {
      const where = visitor
        ? and(eq(events.site, site), eq(events.visitor, visitor))
        : eq(events.site, site);
      return db.select({ n: sql<number>`count(*)` }).from(events).where(where).get()?.n ?? 0;
    },
    close: () => {
      checkpointer?.stop();
      db.$client.close();
    },
  };
}
