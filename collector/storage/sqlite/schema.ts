/**
 * The SQLite schema. Migrations are generated from this file by drizzle-kit
 * (`npm run db:generate`) into `drizzle/` and applied at start; never hand-edit them.
 */
import { sql } from 'drizzle-orm';
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
    /** Clicks: 1 when the link leaves the page's origin, 0 when not; null for other events. A plain integer: drizzle's boolean mode stores null as 0. */
    outbound: integer('outbound'),
    value: real('value'),
    currency: text('currency'),
    /** JSON object of custom props. */
    props: text('props'),
    /** JSON object of utm_* campaign parameters. */
    utm: text('utm'),
    /** Sent by a bot or automation: stored for the record, kept out of profiles and segments. */
    bot: integer('bot', { mode: 'boolean' }).notNull().default(false),
    /**
     * The contact whose profile the event folded into (null: anonymous). A device identified as
     * one contact, then another, has events of both under one visitor id: erasure goes by this.
     */
    contact: text('contact'),
  },
  (t) => [
    primaryKey({ columns: [t.site, t.id] }),
    // Partial: only known contacts' events, for erasing one contact without a scan.
    index('events_contact').on(t.site, t.contact).where(sql`contact IS NOT NULL`),
    index('events_visitor').on(t.site, t.visitor, t.ts),
    // The retention job deletes a site's oldest events in small batches; without this index each
    // batch would scan the table and stall the (synchronous) event loop.
    index('events_age').on(t.site, t.ts),
  ],
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
    /** Custom segments (JSON array of names) as of the last event: the "before" of segment history. */
    segments: text('segments').notNull().default('[]'),
    /** Purchase count, total value and time of the latest purchase: RFM quintiles in SQL. */
    purchases: integer('purchases').notNull().default(0),
    monetary: real('monetary').notNull().default(0),
    lastPurchase: integer('last_purchase'),
  },
  (t) => [
    primaryKey({ columns: [t.site, t.visitor] }),
    index('profiles_segment').on(t.site, t.segment),
    // Partial: only customers, so the RFM job walks an index of customers and visitors cost nothing.
    index('profiles_rfm_f').on(t.site, t.purchases).where(sql`purchases > 0`),
    index('profiles_rfm_m').on(t.site, t.monetary).where(sql`purchases > 0`),
    index('profiles_rfm_r').on(t.site, t.lastPurchase).where(sql`purchases > 0`),
  ],
);

/**
 * Segment history: every change of a visitor's microsegment key (`kind = 'key'`) or custom
 * segment membership (`entered`/`exited`), written in the transaction of the events that
 * caused it. `seq` orders the changes (a cursor for consumers).
 */
export const segmentChanges = sqliteTable(
  'segment_changes',
  {
    seq: integer('seq').primaryKey({ autoIncrement: true }),
    site: text('site').notNull(),
    visitor: text('visitor').notNull(),
    /** Server time of the write that saw the change, epoch ms. */
    at: integer('at').notNull(),
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

/** A site's RFM quintile breakpoints, recomputed from its customers (the job, `microseg rfm`). */
export const rfmBreakpoints = sqliteTable('rfm_breakpoints', {
  site: text('site').primaryKey(),
  computed: integer('computed').notNull(),
  customers: integer('customers').notNull(),
  /**
   * The four breakpoints, JSON: `recency` `{"lastPurchase": [times, oldest first]}` (rows of an
   * earlier version: a plain array of ages at `computed`; storage/rfm.ts reads both), counts and
   * totals as arrays, ascending.
   */
  recency: text('recency').notNull(),
  frequency: text('frequency').notNull(),
  monetary: text('monetary').notNull(),
});

/**
 * The webhook outbox: one row per delivery, written in the transaction that records the segment
 * change (a crash loses none) and sent by the background worker. `seq` gives the order; `id` is
 * the public delivery id receivers de-duplicate on.
 */
export const webhookDeliveries = sqliteTable(
  'webhook_deliveries',
  {
    seq: integer('seq').primaryKey({ autoIncrement: true }),
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
    /** The JSON body, fixed at enqueue time so every attempt and replay sends the same bytes. */
    body: text('body').notNull(),
    status: text('status', { enum: ['pending', 'delivered', 'failed'] }).notNull(),
    attempts: integer('attempts').notNull().default(0),
    created: integer('created').notNull(),
    nextAttempt: integer('next_attempt').notNull(),
    lastAttempt: integer('last_attempt'),
    /** HTTP status of the last attempt; null when it got no answer (timeout, refused). */
    lastStatus: integer('last_status'),
    lastError: text('last_error'),
    deliveredAt: integer('delivered_at'),
    /**
     * A delivery worker's lease (PostgreSQL's schema has it for several collectors on one
     * database, pg/outbox.ts). One process writes a SQLite file, so nothing sets them here: kept
     * so that both schemas stay one (test/storage/pg-schema.test.ts).
     */
    leaseOwner: text('lease_owner'),
    leasedUntil: integer('leased_until'),
  },
  (t) => [
    index('webhook_deliveries_due').on(t.status, t.nextAttempt),
    index('webhook_deliveries_site').on(t.site, t.status, t.seq),
    index('webhook_deliveries_person').on(t.site, t.visitor),
  ],
);

/**
 * Events refused by validation, kept with the reason and the raw payload (size-capped), so a
 * broken integration can be diagnosed (`microseg quarantine`) instead of losing data silently.
 */
export const quarantine = sqliteTable(
  'quarantine',
  {
    seq: integer('seq').primaryKey({ autoIncrement: true }),
    site: text('site').notNull(),
    visitor: text('visitor'),
    /** The refused event's id when it had a usable one. */
    eventId: text('event_id'),
    /** `collect` (browser) or `events` (server API). */
    source: text('source').notNull(),
    received: integer('received').notNull(),
    error: text('error').notNull(),
    message: text('message').notNull(),
    /** The raw event as JSON, cut at LIMITS.quarantinePayloadBytes. */
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

/**
 * Which known contact a browser's visitor id belongs to (identify, `ms_t`). Linked visitors
 * share the contact's profile, stored in `profiles` under the reserved id `c:<contact>`; that
 * id has a link row to its own contact too, so a contact's rows are found (and erased) by the
 * `site` + `contact` convention.
 */
export const links = sqliteTable(
  'links',
  {
    site: text('site').notNull(),
    visitor: text('visitor').notNull(),
    contact: text('contact').notNull(),
    linkedAt: integer('linked_at').notNull(),
    /**
     * The link is in force until this time (epoch ms): a device link lapses `identity.linkDays`
     * after the token that made or last renewed it; a contact's own row never does. A lapsed row
     * is kept (its grant still counts) but the visitor reads and writes as anonymous.
     */
    expires: integer('expires').notNull().default(0),
    /** The email link (token grant) that identified this device: at most `devicesPerLink` per grant. */
    grantId: text('grant_id'),
  },
  (t) => [
    primaryKey({ columns: [t.site, t.visitor] }),
    index('links_contact').on(t.site, t.contact),
    index('links_grant').on(t.site, t.grantId),
  ],
);

/**
 * The last delivery enqueued per profile (a visitor id or `c:<contact>`) and webhook: a webhook
 * does not fire again for the same person within its `cooldownMinutes` (no flapping).
 */
export const webhookCooldowns = sqliteTable(
  'webhook_cooldowns',
  {
    site: text('site').notNull(),
    visitor: text('visitor').notNull(),
    hook: text('hook').notNull(),
    at: integer('at').notNull(),
    /**
     * Whose row it is, as on events: the contact of a `c:<contact>` profile; null for an
     * anonymous visitor's, until its first link claims it. Erasure goes by this.
     */
    contact: text('contact'),
  },
  (t) => [
    primaryKey({ columns: [t.site, t.visitor, t.hook] }),
    index('webhook_cooldowns_contact').on(t.site, t.contact).where(sql`contact IS NOT NULL`),
  ],
);

/**
 * What a profile knows beyond its events, by profile id (a visitor id, or `c:<contact>`):
 * traits (backend, public browser traits, proxy country) and campaign attribution.
 */
export const profileMeta = sqliteTable(
  'profile_meta',
  {
    site: text('site').notNull(),
    visitor: text('visitor').notNull(),
    /** JSON object: trait name → string, number or boolean. */
    traits: text('traits').notNull().default('{}'),
    /** JSON `Touch` of the first and of the latest event that carried a campaign. */
    firstTouch: text('first_touch'),
    lastTouch: text('last_touch'),
    updated: integer('updated').notNull(),
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
export const segmentSizes = sqliteTable(
  'segment_sizes',
  {
    site: text('site').notNull(),
    /** Start of the UTC day, epoch ms. */
    day: integer('day').notNull(),
    kind: text('kind', { enum: ['key', 'custom', 'rfm'] }).notNull(),
    /** The key, the custom segment's name, or an RFM grid cell `r:f` (its customers). */
    name: text('name').notNull(),
    members: integer('members').notNull(),
    /** When the snapshot was taken, epoch ms (the day's last write). */
    taken: integer('taken').notNull(),
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
export const statsRollup = sqliteTable(
  'stats_rollup',
  {
    site: text('site').notNull(),
    /** Bucket size, ms: 3 600 000 (hour) or 86 400 000 (day). */
    bucket: integer('bucket').notNull(),
    /** Start of the bucket (UTC), epoch ms. */
    start: integer('start').notNull(),
    metric: text('metric').notNull(),
    value: integer('value').notNull(),
    /** When it was rolled up, epoch ms. */
    taken: integer('taken').notNull(),
  },
  (t) => [primaryKey({ columns: [t.site, t.bucket, t.start, t.metric] })],
);

/**
 * Custom segment rules made at runtime (`PUT /v1/rules/:name`, collector/rules/), beside the
 * config file's. `definition` is the rule's JSON (`{when, description?, public?}`). `revision` is
 * the site's rules version when it was last saved or deleted; `backfilled` the revision whose
 * members the background backfill has computed for every stored profile (0: none yet). A deleted
 * rule stays (`deleted` 1) until the backfill has recorded its members' exits, then goes.
 */
export const siteRules = sqliteTable(
  'site_rules',
  {
    site: text('site').notNull(),
    name: text('name').notNull(),
    definition: text('definition').notNull(),
    revision: integer('revision').notNull(),
    backfilled: integer('backfilled').notNull().default(0),
    deleted: integer('deleted', { mode: 'boolean' }).notNull().default(false),
    created: integer('created').notNull(),
    updated: integer('updated').notNull(),
  },
  (t) => [primaryKey({ columns: [t.site, t.name] })],
);

/**
 * One row per site with runtime rules: a number raised in the transaction of every change of
 * `site_rules` (save, delete, a finished backfill). Each collector process compares it with the
 * version it compiled, one small read, to pick up a rule saved through another process.
 */
export const ruleVersions = sqliteTable('rule_versions', {
  site: text('site').primaryKey(),
  version: integer('version').notNull(),
});

/**
 * Dashboard sessions signed out before their expiry (collector/dashboard/session.ts): `id` is the
 * session's id (a hash of its random CSRF token), `exp` the session's own expiry, after which the
 * cookie is refused anyway and the retention job deletes the row. One row per sign-out, written
 * only by a signed-in, unexpired session.
 */
export const dashboardSignouts = sqliteTable(
  'dashboard_signouts',
  {
    id: text('id').primaryKey(),
    exp: integer('exp').notNull(),
  },
  (t) => [index('dashboard_signouts_exp').on(t.exp)],
);

/** Goals saved through the API (`/v1/goals`, collector/goals/): the goal's JSON per site and name. */
export const siteGoals = sqliteTable(
  'site_goals',
  {
    site: text('site').notNull(),
    name: text('name').notNull(),
    definition: text('definition').notNull(),
    created: integer('created').notNull(),
    updated: integer('updated').notNull(),
  },
  (t) => [primaryKey({ columns: [t.site, t.name] })],
);

/**
 * The last model trained per site and goal (a config goal's too): the goal it was trained for
 * (a changed goal's model is stale), the fitted weights and calibration (JSON) and its holdout
 * evaluation (JSON). One row each, replaced by every training.
 */
export const goalModels = sqliteTable(
  'goal_models',
  {
    site: text('site').notNull(),
    goal: text('goal').notNull(),
    /** The goal's JSON as trained. */
    definition: text('definition').notNull(),
    trained: integer('trained').notNull(),
    /** `model` (trusted) or `fallback` (too little data: the intent heuristic serves). */
    status: text('status').notNull(),
    model: text('model'),
    evaluation: text('evaluation').notNull(),
  },
  (t) => [primaryKey({ columns: [t.site, t.goal] })],
);
