/**
 * Every size limit of the wire, in one place. The collector enforces them; the snippet
 * stays under them so a browser never sends a batch the collector must refuse.
 */
export const LIMITS = {
  /** Largest request body accepted, checked before parsing. */
  bodyBytes: 64 * 1024,
  /** Largest body of the server-side `/v1/events` endpoint (imports). */
  serverBodyBytes: 1024 * 1024,
  /** Events in one browser batch (`/v1/collect`). */
  batchEvents: 100,
  /** Events in one server batch (`/v1/events`). */
  serverBatchEvents: 1000,
  /** Site ids, visitor ids, event ids, session ids, contact ids. */
  idLength: 64,
  /** Event type names. */
  typeLength: 64,
  /** Category names. */
  categoryLength: 64,
  /** URLs (page, referrer, link target). */
  urlLength: 2048,
  /** Keys in an event's `props`. */
  propsKeys: 20,
  /** Length of a prop key. */
  propKeyLength: 64,
  /** Length of a string prop value. */
  propValueLength: 256,
  /** Currency code (ISO 4217). */
  currencyLength: 3,
  /** Raw payload kept of one refused event in the quarantine table. */
  quarantinePayloadBytes: 2048,
  /** Refused events of one request kept in the quarantine table (per site); the rest are only counted. */
  quarantinePerRequest: 10,
  /** Traits of one profile (names are at most `propKeyLength`, values `propValueLength`). */
  traitsKeys: 50,
  /** Links made by one `POST /v1/links` request. */
  linksPerRequest: 1000,
  /** Largest magnitude of an event's `value` (site currency): a profile's sums stay finite. */
  maxValue: 1e12,
  /**
   * Most `dropped` events one browser batch is counted for. The snippet's retry queue keeps the
   * newest 50 events and counts the older ones it gives up until a batch gets through, so an
   * outage over many page loads can report hundreds; a larger figure is clamped to this, so
   * one request cannot push the counter anywhere it likes.
   */
  droppedEvents: 1000,
  /** Day buckets one `GET /v1/stats` may span (a year and a day). */
  statsDays: 366,
  /** Hour buckets one `GET /v1/stats` may span (31 days). */
  statsHours: 744,
  /** Timeline events in one `GET /v1/visitors/:id` page (default 50). */
  timelinePage: 200,
  /** Segment history rows in one `GET /v1/visitors/:id` page (default 100). */
  historyPage: 500,
} as const;

/**
 * Bounds of the runtime rules API (`/v1/rules`, collector/rules/): apart from LIMITS, which the
 * snippet bundles, so the snippet does not carry them.
 */
export const RULE_LIMITS = {
  /** Runtime custom segment rules in force per site (`PUT /v1/rules/:name`), config rules aside. */
  rulesPerSite: 100,
  /** Largest body of `PUT /v1/rules/:name` and of a preview: one rule's JSON (≤ 100 conditions). */
  ruleBytes: 16 * 1024,
  /** Profiles one rule preview evaluates at most; past it the answer is `partial`. */
  previewProfiles: 250_000,
  /** Time one rule preview may run; past it the answer is `partial` (counted so far). */
  previewMs: 1500,
  /** Visitor ids in a preview's `sample`. */
  previewSample: 10,
  /**
   * Previews running at once in one collector process, the API's and the dashboard's together;
   * another is refused (429) meanwhile.
   */
  previewsAtOnce: 2,
} as const;

/**
 * Bounds of goals and their models (`/v1/goals`, collector/goals/, docs/goals.md): what one
 * training may read, hold and take, and when a model is not trusted.
 */
export const GOAL_LIMITS = {
  /** Goals per site saved through the API, config goals aside. */
  goalsPerSite: 20,
  /** Largest body of `PUT /v1/goals/:name`. */
  goalBytes: 4 * 1024,
  /** Longest horizon (`within`), days. */
  maxWithinDays: 90,
  /** Keys of a goal's `props` filter, and traits one-hot encoded. */
  props: 10,
  traits: 5,
  /** Values of one trait encoded (the most frequent); the rest share an "other" column. */
  traitValues: 8,
  /** Event rows one training reads at most (newest cut-offs first are not privileged: it stops). */
  trainRows: 2_000_000,
  /** Profiles (visitor ids) one training keeps at most. */
  trainProfiles: 200_000,
  /** Time one training may take, reading and fitting; past it the training fails (timeout). */
  trainMs: 120_000,
  /** Below either, the goal falls back to the intent heuristic (the model is not trusted). */
  minExamples: 200,
  minPositives: 20,
  /** Trainings running at once in one process (on demand and the schedule together). */
  trainingsAtOnce: 1,
  /** Profiles one audience count (`GET /v1/goals/:name/audience`) scores at most; past it `partial`. */
  audienceProfiles: 250_000,
  /** Time one audience count may run; past it the answer is `partial` (counted so far). */
  audienceMs: 3000,
  /** Audience counts running at once in one process (the API's and the dashboard's together). */
  audiencesAtOnce: 2,
  /** Trait filters of one audience count (`trait.region=NY`). */
  audienceTraits: 5,
} as const;

/** The dashboard's bounds (collector/dashboard/). */
export const DASHBOARD = {
  /** A session's life from sign-in (absolute: no sliding renewal), ms. */
  sessionMs: 12 * 60 * 60 * 1000,
  /** Wrong keys one address may try per window before `429` (per collector process). */
  loginFailures: 10,
  /** The window of `loginFailures`, ms. */
  loginWindowMs: 15 * 60 * 1000,
  /** Addresses the wrong-key counter remembers; past it the oldest is forgotten. */
  loginAddresses: 10_000,
  /** Largest sign-in form body, bytes (a key is at most `keyLength`). */
  loginBodyBytes: 4096,
  /** Longest API key the sign-in form accepts. */
  keyLength: 512,
  /** Members shown on one page of a segment. */
  membersPage: 50,
  /**
   * Largest body of a signed-in dashboard request: the rule builder's form, a rule's JSON
   * (`RULE_LIMITS.ruleBytes`) percent-encoded, fits.
   */
  formBytes: 64 * 1024,
} as const;

/** Events the snippet may hold in its own buffer before it sends them. */
export const SNIPPET_BATCH = 20;

/** Client timestamps are clamped into [server time − maxEventAgeMs, server time + maxClockSkewMs]. */
export const CLOCK = {
  // Literals, not products: esbuild keeps an unused object whose values are computed, and
  // every byte counts in the snippet that imports this module.
  /** 5 minutes. */
  maxClockSkewMs: 300_000,
  /**
   * 7 days: an older client timestamp is taken as this old, and an older event of the snippet's
   * compact batches is dropped and counted (collector/ingest/wire-compact.ts).
   */
  maxEventAgeMs: 604_800_000,
} as const;

/**
 * The dashboard's live feed of ingest outcomes (collector/live/feed.ts, `/dashboard/live`):
 * what one process holds for its watchers, so a flood of events costs a bounded amount.
 */
export const LIVE = {
  /** Live connections one collector process serves at once; one more is refused (503). */
  subscribers: 32,
  /** Live connections of one signed-in session (tabs); one more is refused (429). */
  perSession: 4,
  /** Entries held for one connection not yet written to it; past it the oldest are dropped and counted. */
  buffer: 500,
  /** Events (type, category) listed in one entry; the entry's count says how many in all. */
  eventsPerEntry: 10,
  /** Entries written to a connection in one write (the rest on the next turn). */
  writeBatch: 100,
  /** A comment line at least this often, so proxies keep the connection and a dead one is found. */
  heartbeatMs: 15_000,
} as const;
