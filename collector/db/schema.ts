/**
 * The SQLite schema. Migrations are generated from this file by drizzle-kit
 * (`npm run db:generate`) into `drizzle/` and applied at start; never hand-edit them.
 */
import { index, integer, primaryKey, real, sqliteTable, text } from 'drizzle-orm/sqlite-core';

/** Every accepted event. `(site, id)` is the primary key: a retried event is stored once. */
export const events = sqliteTable(
  'events',
  {
    site: text('site').notNull(),
    id: text('id').notNull(),
    visitor: text('visitor').notNull(),
    session: text('session'),
    type: text('type').notNull(),
    /** Event time (client clock, clamped), epoch ms. */
    ts: integer('ts').notNull(),
    /** Server time of arrival, epoch ms. */
    received: integer('received').notNull(),
    url: text('url'),
    ref: text('ref'),
    category: text('category'),
    nav: text('nav'),
    target: text('target'),
    outbound: integer('outbound', { mode: 'boolean' }),
    value: real('value'),
    currency: text('currency'),
    /** JSON object of custom props. */
    props: text('props'),
    /** JSON object of utm_* campaign parameters. */
    utm: text('utm'),
  },
  (t) => [primaryKey({ columns: [t.site, t.id] }), index('events_visitor').on(t.site, t.visitor, t.ts)],
);

/** One row per visitor: the engine's aggregate plus the last evaluated segment key. */
export const profiles = sqliteTable(
  'profiles',
  {
    site: text('site').notNull(),
    visitor: text('visitor').notNull(),
    firstSeen: integer('first_seen').notNull(),
    lastSeen: integer('last_seen').notNull(),
    /** Server time of the last change, epoch ms. */
    updated: integer('updated').notNull(),
    /** The microsegment key as of the last event, for listing and export. */
    segment: text('segment').notNull(),
    /** The engine's `Profile`, JSON. */
    data: text('data').notNull(),
  },
  (t) => [primaryKey({ columns: [t.site, t.visitor] }), index('profiles_segment').on(t.site, t.segment)],
);
