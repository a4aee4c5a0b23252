/**
 * The PostgreSQL schema: the same tables, columns, primary keys and indexes as the SQLite schema
 * (collector/storage/db/schema.ts), in PostgreSQL's types. Migrations are generated from this file
 * by drizzle-kit (`npm run db:generate:pg`, drizzle.pg.config.ts) into `drizzle-pg/` and applied by
 * `migratePg` (./migrate.ts); never hand-edit them. test/storage/pg-schema.test.ts checks that
 * every SQLite table has its twin here with the same column names: change both files together.
 *
 * Type choices (why, not what):
 * - Times are epoch ms in `bigint` read as JS numbers (`mode: 'number'`): ms since 1970 passed
 *   2^31 long ago, and stay far below 2^53 (exact in a double), so the code keeps its numbers.
 * - SQLite's `real` is an 8-byte double: `double precision`, not PostgreSQL's 4-byte `real`, so a
 *   purchase total reads back as the number written.
 * - JSON stays `text`, except `profiles.segments`: the backend writes and reads those documents
 *   whole (no query looks inside), a webhook `body` must keep its exact bytes (every attempt sends
 *   the same), a quarantined `payload` is cut at a byte limit and may not be valid JSON, and `text`
 *   costs no parse on the ingest path. `segments` is the one the queries open (member counts per
 *   custom segment, exports and counts of a segment's members: SQLite's `json_each`), which jsonb
 *   does natively (`segments ? $name`, `jsonb_array_elements_text`).
 * - `seq` (SQLite `integer primary key autoincrement`) is a `bigint` identity column, BY DEFAULT
 *   rather than ALWAYS: a copy of a SQLite database can keep its sequence numbers (consumers
 *   hold cursors on them), then move the sequence past them with setval.
 * - Flags stay what they are in SQLite: `bot` a boolean, `outbound` an integer 0/1/null (the rows
 *   the code reads are the same on both backends).
 * - `profiles_segment` indexes `segment` with `text_pattern_ops`: exports select keys by a `*`
 *   pattern (SQLite's GLOB, `LIKE` here), and a pattern's literal prefix can use only such an
 *   index when the database's collation is not C. Equality (`segment = $1`) uses it as well.
 */
import { sql } from 'drizzle-orm';
import {
  bigint,
  boolean,
  doublePrecision,
  index,
  integer,
  jsonb,
  pgTable,
  primaryKey,
  text,
} from 'drizzle-orm/pg-core';

/** Epoch milliseconds: a `bigint` read as a JS number. */
const ms = (name: string) => bigint(name, { mode: 'number' });

/** SQLite's `integer primary key autoincrement`: a bigint identity, numbers never reused. */
const seq = () => bigint('seq', { mode: 'number' }).primaryKey().generatedByDefaultAsIdentity();

/** Every accepted event. `(site, id)` is the primary key: a retried event is stored once. */
export const events = pgTable(
  'events',
  {
    site: text('site').notNull(),
    id: text('id').notNull(),
    visitor: text('visitor').notNull(),
    session: text('session'),
    type: text('type').notNull(),
    /** Event time (client clock, clamped), epoch ms. */
    ts: ms('ts').notNull(),
    /** Server time of arrival, epoch ms. */
    received: ms('received').notNull(),
    url: text('url'),
    ref: text('ref'),
    category: text('category'),
    nav: text('nav'),
    target: text('target'),
    /** Clicks: 1 when the link leaves the page's origin, 0 when not; null for other events. */
    outbound: integer('outbound'),
    value: doublePrecision('value'),
    currency: text('currency'),
    /** JSON object of custom props. */
    props: text('props'),
    /** JSON object of utm_* campaign parameters. */
    utm: text('utm'),
    /** Sent by a bot or automation: stored for the record, kept out of profiles and segments. */
    bot: boolean('bot').notNull().default(false),
    /** The contact whose profile the event folded into (null: anonymous); erasure goes by this. */
    contact: text('contact'),
  },
  (t) => [
    primaryKey({ columns: [t.site, t.id] }),
    index('events_contact').on(t.site, t.contact).where(sql`contact IS NOT NULL`),
    index('events_visitor').on(t.site, t.visitor, t.ts),
    index('events_age').on(t.site, t.ts),
  ],
);

/** One row per visitor: the engine's aggregate plus the last evaluated segment key. */
export const profiles = pgTable(
  'profiles',
  {
    site: text('site').notNull(),
    visitor: text('visitor').notNull(),
    firstSeen: ms('first_seen').notNull(),
    lastSeen: ms('last_seen').notNull(),
    /** Server time of the last change, epoch ms. */
    updated: ms('updated').notNull(),
    /** The microsegment key as of the last event, for listing and export. */
    segment: text('segment').notNull(),
    /** The engine's `Profile`, JSON. */
    data: text('data').notNull(),
    /** Custom segments (names) as of the last event: the "before" of segment history. */
    segments: jsonb('segments').$type<string[]>().notNull().default([]),
    /** Purchase count, total value and time of the latest purchase: RFM quintiles in SQL. */
    purchases: integer('purchases').notNull().default(0),
    monetary: doublePrecision('monetary').notNull().default(0),
    lastPurchase: ms('last_purchase'),
  },
  (t) => [
    primaryKey({ columns: [t.site, t.visitor] }),
    index('profiles_segment').on(t.site, t.segment.op('text_pattern_ops')),
    index('profiles_rfm_f').on(t.site, t.purchases).where(sql`purchases > 0`),
    index('profiles_rfm_m').on(t.site, t.monetary).where(sql`purchases > 0`),
    index('profiles_rfm_r').on(t.site, t.lastPurchase).where(sql`purchases > 0`),
  ],
);

/** Segment history (see the SQLite schema); `seq` orders the changes, a cursor for consumers. */
export const segmentChanges = pgTable(
  'segment_changes',
  {
    seq: seq(),
    site: text('site').notNull(),
    visitor: text('visitor').notNull(),
    /** Server time of the write that saw the change, epoch ms. */
    at: ms('at').notNull(),
    kind: text('kind', { enum: ['key', 'entered', 'exited'] }).notNull(),
    /** The new key, or the custom segment's name. */
    name: text('name').notNull(),
    /** The key before (null for a visitor's first event, and for custom segments). */
    previous: text('previous'),
    /** Id of the last event of the batch that caused the change. */
    event: text('event'),
    /** The contact whose profile changed (null: anonymous), as on events. */
    contact: text('contact'),
  },
  (t) => [
    index('segment_changes_visitor').on(t.site, t.visitor, t.seq),
    index('segment_changes_site').on(t.site, t.seq),
    // The lifecycle flow of the stats API reads a site's key changes by time (and retention
    // prunes by it): a range of this index instead of the whole history.
    index('segment_changes_at').on(t.site, t.at),
    index('segment_changes_contact').on(t.site, t.contact).where(sql`contact IS NOT NULL`),
  ],
);

/** A site's RFM quintile breakpoints (JSON arrays, read whole), recomputed from its customers. */
export const rfmBreakpoints = pgTable('rfm_breakpoints', {
  site: text('site').primaryKey(),
  computed: ms('computed').notNull(),
  customers: integer('customers').notNull(),
  recency: text('recency').notNull(),
  frequency: text('frequency').notNull(),
  monetary: text('monetary').notNull(),
});

/** The webhook outbox: one row per delivery; `seq` gives the order, `id` the public delivery id. */
export const webhookDeliveries = pgTable(
  'webhook_deliveries',
  {
    seq: seq(),
    id: text('id').notNull().unique(),
    site: text('site').notNull(),
    visitor: text('visitor').notNull(),
    contact: text('contact'),
    /** The webhook's id in the site config. */
    hook: text('hook').notNull(),
    url: text('url').notNull(),
    /** The configured segment (`camera-intent` or `key:<pattern>`) and the transition. */
    segment: text('segment').notNull(),
    change: text('change', { enum: ['enter', 'exit'] }).notNull(),
    /** The JSON body, fixed at enqueue time: text, so every attempt sends the same bytes. */
    body: text('body').notNull(),
    status: text('status', { enum: ['pending', 'delivered', 'failed'] }).notNull(),
    attempts: integer('attempts').notNull().default(0),
    created: ms('created').notNull(),
    nextAttempt: ms('next_attempt').notNull(),
    lastAttempt: ms('last_attempt'),
    /** HTTP status of the last attempt; null when it got no answer (timeout, refused). */
    lastStatus: integer('last_status'),
    lastError: text('last_error'),
    deliveredAt: ms('delivered_at'),
    /**
     * The worker sending it now and until when (issue 16): a pending row under a lease in force is
     * left alone by the other workers; once the lease ends unrenewed (the worker died), any takes it.
     */
    leaseOwner: text('lease_owner'),
    leasedUntil: ms('leased_until'),
  },
  (t) => [
    index('webhook_deliveries_due').on(t.status, t.nextAttempt),
    index('webhook_deliveries_site').on(t.site, t.status, t.seq),
    index('webhook_deliveries_person').on(t.site, t.visitor),
  ],
);

/** Events refused by validation, with the reason and the raw payload (size-capped). */
export const quarantine = pgTable(
  'quarantine',
  {
    seq: seq(),
    site: text('site').notNull(),
    visitor: text('visitor'),
    /** The refused event's id when it had a usable one. */
    eventId: text('event_id'),
    /** `collect` (browser) or `events` (server API). */
    source: text('source').notNull(),
    received: ms('received').notNull(),
    error: text('error').notNull(),
    message: text('message').notNull(),
    /** The raw event as JSON, cut at LIMITS.quarantinePayloadBytes: text, it may not parse. */
    payload: text('payload').notNull(),
    /** The contact the sender was linked to (null: anonymous), as on events. */
    contact: text('contact'),
  },
  (t) => [
    index('quarantine_site').on(t.site, t.seq),
    index('quarantine_person').on(t.site, t.visitor),
    index('quarantine_contact').on(t.site, t.contact).where(sql`contact IS NOT NULL`),
  ],
);

/** Which known contact a browser's visitor id belongs to (see the SQLite schema). */
export const links = pgTable(
  'links',
  {
    site: text('site').notNull(),
    visitor: text('visitor').notNull(),
    contact: text('contact').notNull(),
    linkedAt: ms('linked_at').notNull(),
    /** The link is in force until this time (epoch ms); a contact's own row never lapses. */
    expires: ms('expires').notNull().default(0),
    /** The email link (token grant) that identified this device. */
    grantId: text('grant_id'),
  },
  (t) => [
    primaryKey({ columns: [t.site, t.visitor] }),
    index('links_contact').on(t.site, t.contact),
    index('links_grant').on(t.site, t.grantId),
  ],
);

/** The last delivery enqueued per profile and webhook (a webhook's cooldown). */
export const webhookCooldowns = pgTable(
  'webhook_cooldowns',
  {
    site: text('site').notNull(),
    visitor: text('visitor').notNull(),
    hook: text('hook').notNull(),
    at: ms('at').notNull(),
    /** Whose row it is, as on events; erasure goes by this. */
    contact: text('contact'),
  },
  (t) => [
    primaryKey({ columns: [t.site, t.visitor, t.hook] }),
    index('webhook_cooldowns_contact').on(t.site, t.contact).where(sql`contact IS NOT NULL`),
  ],
);

/** What a profile knows beyond its events: traits and campaign attribution (JSON, read whole). */
export const profileMeta = pgTable(
  'profile_meta',
  {
    site: text('site').notNull(),
    visitor: text('visitor').notNull(),
    /** JSON object: trait name → string, number or boolean. */
    traits: text('traits').notNull().default('{}'),
    /** JSON `Touch` of the first and of the latest event that carried a campaign. */
    firstTouch: text('first_touch'),
    lastTouch: text('last_touch'),
    updated: ms('updated').notNull(),
  },
  (t) => [primaryKey({ columns: [t.site, t.visitor] })],
);

/**
 * Daily segment sizes: members per microsegment key and custom segment, as the snapshot job
 * (collector/jobs/segment-sizes.ts) counted them from \`profiles\`, one row per site, UTC day and
 * segment. A day's row is rewritten until the day is over, then kept: a 30-day chart reads
 * 30 × segments rows on the primary key, however many visitors the site has. Counted, not
 * derived from \`segment_changes\`: a merged (identified) visitor's profile leaves without a
 * recorded exit, so a sum of changes would drift from the members a site really had.
 */
export const segmentSizes = pgTable(
  'segment_sizes',
  {
    site: text('site').notNull(),
    /** Start of the UTC day, epoch ms. */
    day: ms('day').notNull(),
    kind: text('kind', { enum: ['key', 'custom', 'rfm'] }).notNull(),
    /** The key, the custom segment's name, or an RFM grid cell `r:f` (its customers). */
    name: text('name').notNull(),
    members: integer('members').notNull(),
    /** When the snapshot was taken, epoch ms (the day's last write). */
    taken: ms('taken').notNull(),
  },
  (t) => [primaryKey({ columns: [t.site, t.day, t.kind, t.name] })],
);

/**
 * Activity and lifecycle moves per closed hour and day, rolled up from \`events\` and
 * \`segment_changes\` by the snapshot job (collector/jobs/segment-sizes.ts), so a 30-day chart
 * reads a few hundred rows instead of a month of events. One row per site, bucket size, bucket
 * and metric: \`events\`, \`visitors\`, \`contacts\`, \`move:<from>><to>\` (a new visitor's first
 * stage has an empty \`<from>\`) and \`rolled\` (1: the bucket is rolled up, zeros included).
 */
export const statsRollup = pgTable(
  'stats_rollup',
  {
    site: text('site').notNull(),
    /** Bucket size, ms: 3 600 000 (hour) or 86 400 000 (day). */
    bucket: integer('bucket').notNull(),
    /** Start of the bucket (UTC), epoch ms. */
    start: ms('start').notNull(),
    metric: text('metric').notNull(),
    value: integer('value').notNull(),
    /** When it was rolled up, epoch ms. */
    taken: ms('taken').notNull(),
  },
  (t) => [primaryKey({ columns: [t.site, t.bucket, t.start, t.metric] })],
);

/** Custom segment rules made at runtime (the SQLite schema says what each column is). */
export const siteRules = pgTable(
  'site_rules',
  {
    site: text('site').notNull(),
    name: text('name').notNull(),
    definition: text('definition').notNull(),
    revision: integer('revision').notNull(),
    backfilled: integer('backfilled').notNull().default(0),
    deleted: boolean('deleted').notNull().default(false),
    created: ms('created').notNull(),
    updated: ms('updated').notNull(),
  },
  (t) => [primaryKey({ columns: [t.site, t.name] })],
);

/** Per site, raised with every change of `site_rules`: what each collector process polls. */
export const ruleVersions = pgTable('rule_versions', {
  site: text('site').primaryKey(),
  version: integer('version').notNull(),
});

/** Dashboard sessions signed out before their expiry: see the SQLite schema. */
export const dashboardSignouts = pgTable(
  'dashboard_signouts',
  {
    id: text('id').primaryKey(),
    exp: ms('exp').notNull(),
  },
  (t) => [index('dashboard_signouts_exp').on(t.exp)],
);

/** Goals saved through the API: see the SQLite schema. */
export const siteGoals = pgTable(
  'site_goals',
  {
    site: text('site').notNull(),
    name: text('name').notNull(),
    definition: text('definition').notNull(),
    created: ms('created').notNull(),
    updated: ms('updated').notNull(),
  },
  (t) => [primaryKey({ columns: [t.site, t.name] })],
);

/** The last model trained per site and goal: see the SQLite schema. */
export const goalModels = pgTable(
  'goal_models',
  {
    site: text('site').notNull(),
    goal: text('goal').notNull(),
    definition: text('definition').notNull(),
    trained: ms('trained').notNull(),
    status: text('status').notNull(),
    model: text('model'),
    evaluation: text('evaluation').notNull(),
  },
  (t) => [primaryKey({ columns: [t.site, t.goal] })],
);
