/**
 * Every query of the collector lives here, so a second backend (PostgreSQL) is an added
 * module, not a rewrite. Hot paths use prepared statements.
 */
import { and, eq, sql } from 'drizzle-orm';
import { openDb, type Db } from './db/open.ts';
import { events, profiles } from './db/schema.ts';
import { applyEvent, emptyProfile, evaluate, type EngineConfig, type Profile } from './engine/index.ts';
import type { Segment } from '../shared/segment.ts';
import type { Props, Utm } from '../shared/wire.ts';

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
}

export interface IngestResult {
  accepted: number;
  duplicates: number;
  segment: Segment;
}

export interface StoredProfile {
  profile: Profile;
  updated: number;
}

export interface Storage {
  /** Stores the events and folds the new ones into the visitor's profile, in one transaction. */
  ingest(site: string, visitor: string, batch: NewEvent[], engine: EngineConfig, now: number): IngestResult;
  profile(site: string, visitor: string): StoredProfile | undefined;
  /** Event count of a site (or of one visitor). */
  countEvents(site: string, visitor?: string): number;
  readonly db: Db;
  close(): void;
}

const json = (v: object | undefined) => (v === undefined ? null : JSON.stringify(v));

export function openStorage(file: string): Storage {
  const db = openDb(file);
  const p = sql.placeholder;

  const insertEvent = db
    .insert(events)
    .values({
      site: p('site'),
      id: p('id'),
      visitor: p('visitor'),
      session: p('session'),
      type: p('type'),
      ts: p('ts'),
      received: p('received'),
      url: p('url'),
      ref: p('ref'),
      category: p('category'),
      nav: p('nav'),
      target: p('target'),
      outbound: p('outbound'),
      value: p('value'),
      currency: p('currency'),
      props: p('props'),
      utm: p('utm'),
    })
    .onConflictDoNothing()
    .prepare();

  const selectProfile = db
    .select({ data: profiles.data, updated: profiles.updated })
    .from(profiles)
    .where(and(eq(profiles.site, p('site')), eq(profiles.visitor, p('visitor'))))
    .prepare();

  const upsertProfile = db
    .insert(profiles)
    .values({
      site: p('site'),
      visitor: p('visitor'),
      firstSeen: p('firstSeen'),
      lastSeen: p('lastSeen'),
      updated: p('updated'),
      segment: p('segment'),
      data: p('data'),
    })
    .onConflictDoUpdate({
      target: [profiles.site, profiles.visitor],
      set: {
        firstSeen: sql`excluded.first_seen`,
        lastSeen: sql`excluded.last_seen`,
        updated: sql`excluded.updated`,
        segment: sql`excluded.segment`,
        data: sql`excluded.data`,
      },
    })
    .prepare();

  function readProfile(site: string, visitor: string): StoredProfile | undefined {
    const row = selectProfile.get({ site, visitor });
    return row ? { profile: JSON.parse(row.data) as Profile, updated: row.updated } : undefined;
  }

  const ingest = db.$client.transaction(
    (site: string, visitor: string, batch: NewEvent[], engine: EngineConfig, now: number): IngestResult => {
      const stored = readProfile(site, visitor);
      let profile = stored?.profile ?? emptyProfile(batch[0]?.ts ?? now);
      let accepted = 0;
      for (const e of batch) {
        const res = insertEvent.run({
          site,
          id: e.id,
          visitor,
          session: e.session ?? null,
          type: e.type,
          ts: e.ts,
          received: now,
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
        });
        // A duplicate id changes no row: the event was counted when it first arrived.
        if (res.changes === 0) continue;
        accepted++;
        profile = applyEvent(profile, e, engine);
      }
      const segment = evaluate(profile, { site, visitor, known: false }, engine, now);
      if (accepted > 0 || !stored) {
        upsertProfile.run({
          site,
          visitor,
          firstSeen: profile.firstSeen,
          lastSeen: profile.lastSeen,
          updated: now,
          segment: segment.segment,
          data: JSON.stringify(profile),
        });
      }
      return { accepted, duplicates: batch.length - accepted, segment };
    },
  );

  return {
    db,
    ingest: (site, visitor, batch, engine, now) => ingest(site, visitor, batch, engine, now),
    profile: readProfile,
    countEvents(site, visitor) {
      const where = visitor ? and(eq(events.site, site), eq(events.visitor, visitor)) : eq(events.site, site);
      return db.select({ n: sql<number>`count(*)` }).from(events).where(where).get()?.n ?? 0;
    },
    close: () => db.$client.close(),
  };
}
