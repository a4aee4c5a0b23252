/**
 * The storage contract: everything the collector asks of its database, asynchronous, with no
 * database handle in it, so that SQLite (collector/storage/sqlite/) and PostgreSQL are two
 * implementations of one interface. Nothing outside collector/storage/ imports a backend module,
 * but the SQLite-only tools (`microseg backup`, `doctor`) and tests, through `sqliteHandle`.
 *
 * Reads are methods of `Storage`. Writes run as jobs: `storage.write(job)` runs `job` inside a
 * transaction with a `StorageTx` (reads and writes of that transaction) and resolves once it is
 * committed, so an answer is never sent before its data is durable. A backend may group jobs into
 * one transaction (SQLite's group commit): a job must then write only through its `tx`, and it may
 * run twice when another job of its group fails (its effects are the database's, which the
 * rollback undoes). The single write methods of `Storage` (`storage.outbox.delivered(…)`, …) each
 * run as a job of their own. A job never calls `storage.write` (nor a single write method of
 * `Storage`): it would wait for the transaction it is part of; the backend refuses it with an error.
 * Work a job starts without awaiting it (a timer, a promise left running) carries the job's async
 * context: while the job runs, its writes are refused the same way and its reads go to the job's
 * connection. Such work goes through `tx.afterCommit`, which runs it after the commit, outside.
 */
import type { Segment } from '../../shared/segment.ts';
import type { VisitorEvent } from '../../shared/stats.ts';
import type { Props, Utm } from '../../shared/wire.ts';
import type { Attribution, Traits } from '../identity/traits.ts';
import type { QuarantinePolicy, Refusal } from './quarantine.ts';
import type {
  EngineConfig,
  Extras,
  Profile,
  RfmBreakpoints,
  SegmentChange,
} from '../engine/index.ts';
import type { Delivery, DeliveryStatus } from '../../shared/webhook.ts';

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

/** A segment change as told to listeners, inside the transaction that records it. */
export interface Change {
  site: string;
  /** The visitor whose events (or identify) caused the change. */
  visitor: string;
  /** The profile that changed: the visitor's own id, or its contact's `c:<contact>`. */
  profile: string;
  before: { key: string | null; segments: string[] };
  segment: Segment;
  changes: SegmentChange[];
  at: number;
}

/**
 * Told of each segment change inside the transaction that records it; whatever it writes through
 * `tx` commits or rolls back with the change (the webhook outbox).
 */
export type ChangeListener = (change: Change, tx: StorageTx) => Promise<void>;

export interface IngestExtras extends Pick<Extras, 'traits'> {
  /** The profile the events fold into when not the visitor's own (a linked contact's `c:<contact>`). */
  profile?: string | undefined;
}

/** Whose events a batch is: a browser's visitor id, or a known contact (email clicks, backends). */
export type IngestSubject = { visitor: string } | { contact: string };

/** What `ingestSubject` found and did: the profile it folded into, and that profile's meta. */
export interface SubjectIngest {
  result: IngestResult;
  /** The profile folded into: the visitor's own id, or `c:<contact>`. */
  key: string;
  /** A contact's profile (a contact's own events, or a visitor linked in force). */
  known: boolean;
  /** The profile's traits and attribution as read before the batch (undefined: none stored). */
  meta: Meta | undefined;
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
  /** The site's RFM quintiles in force (`rfmBreakpoints`), read with the rest: null until enough customers. */
  rfm: RfmBreakpoints | null;
}

/* ---------- identity ---------- */

export interface Meta extends Attribution {
  traits: Traits;
}

export interface LinkRow {
  contact: string;
  /** Until when the link is in force (ms). */
  expires: number;
  grant: string | null;
}

/** Who a visitor is now: its profile key and, when linked in force, its contact. */
export interface Subject {
  key: string;
  contact: string | null;
}

export interface IdentityReads {
  subject(site: string, visitor: string, now: number): Promise<Subject>;
  linkOf(site: string, visitor: string): Promise<LinkRow | null>;
  /** Visitors other than `except` identified by this grant. */
  grantDevices(site: string, grant: string, except: string): Promise<number>;
  contactExists(site: string, contact: string): Promise<boolean>;
  linkedVisitors(site: string, contact: string): Promise<string[]>;
  meta(site: string, key: string): Promise<Meta | undefined>;
}

export interface IdentityWrites {
  ensureContact(site: string, contact: string, now: number): Promise<void>;
  link(
    site: string,
    visitor: string,
    contact: string,
    grant: string | null,
    expires: number,
    now: number,
  ): Promise<void>;
  setMeta(site: string, key: string, m: Meta, now: number): Promise<void>;
  deleteMeta(site: string, key: string): Promise<void>;
  /** Gives a visitor's anonymous rows (events, history, …) to the contact it was linked to. */
  claimAnonymousRows(site: string, visitor: string, contact: string): Promise<void>;
}

/* ---------- webhook outbox ---------- */

/** A delivery to enqueue: who, which webhook, which transition, and its body. */
export interface NewDelivery
  extends Pick<Delivery, 'site' | 'visitor' | 'contact' | 'hook' | 'url' | 'segment' | 'change'> {
  body(id: string): string;
}

export interface DueDelivery {
  seq: number;
  id: string;
  site: string;
  visitor: string;
  hook: string;
  url: string;
  body: string;
  attempts: number;
}

export interface OutboxReads {
  /**
   * Pending deliveries due at `now`, oldest first, at most one per (visitor, webhook): a later
   * one waits until the earlier is delivered or failed, so a receiver sees enter before exit.
   * `skip` leaves out deliveries already in flight and webhooks (`site/hook`) at their share.
   * A row under a lease in force (`OutboxLeases`) is not due: another worker is sending it.
   */
  due(
    now: number,
    limit: number,
    skip?: { ids: string[]; hooks: string[] },
  ): Promise<DueDelivery[]>;
  list(
    site: string,
    opts?: { status?: DeliveryStatus | undefined; limit?: number; before?: number | undefined },
  ): Promise<(Delivery & { seq: number })[]>;
  get(site: string, id: string): Promise<Delivery | undefined>;
  /** Earliest `next_attempt` of a pending delivery, for the worker's next wake-up. */
  nextDue(): Promise<number | null>;
  /** Deliveries per status, all sites: the backlog `/metrics` reports. */
  counts(): Promise<Record<DeliveryStatus, number>>;
}

/**
 * Who sends a delivery now: a worker *claims* due rows under a lease (its `owner` id, until
 * `now + leaseMs`) and renews it while they are in flight, so that several workers on one database
 * (processes, hosts) never send one row at the same time, and a dead worker's rows are taken over
 * once its lease ends. PostgreSQL keeps the lease in the row (`FOR UPDATE SKIP LOCKED`); SQLite,
 * written by one process only, has nobody to share with: its claim is `due`, its leases nothing.
 * Not in a transaction: each call is one statement of its own, committed when it resolves.
 */
export interface OutboxLeases {
  /** Like `due`, minus rows under another lease in force; the rows returned are leased to `owner`. */
  claim(
    owner: string,
    now: number,
    leaseMs: number,
    limit: number,
    skip?: { ids: string[]; hooks: string[] },
  ): Promise<DueDelivery[]>;
  /** Extends `owner`'s leases of `ids` to `until`; returns the ids it still held (and renewed). */
  renew(owner: string, ids: string[], until: number): Promise<string[]>;
  /** Ends `owner`'s leases of `ids` (a worker stopping): the rows are due again at once. */
  release(owner: string, ids: string[]): Promise<void>;
}

export interface OutboxWrites {
  /** Inserts deliveries (in the transaction that records the change). Returns their ids. */
  enqueue(rows: NewDelivery[], now: number): Promise<string[]>;
  /**
   * The webhook's turn to fire for this profile (a visitor id or `c:<contact>`) at `now`: true,
   * and the turn is taken, when it last fired `cooldownMs` or longer ago (or never); false inside
   * the cooldown. In the transaction that enqueues.
   */
  takeTurn(
    site: string,
    profile: string,
    hook: string,
    cooldownMs: number,
    now: number,
  ): Promise<boolean>;
  delivered(id: string, attempts: number, status: number, now: number): Promise<void>;
  /** Records a failed attempt: retried at `next`, or failed for good when `next` is null. */
  attemptFailed(
    id: string,
    attempts: number,
    status: number | null,
    error: string,
    now: number,
    next: number | null,
  ): Promise<void>;
  /** Puts a failed delivery back in the queue with the same id and fresh attempts. */
  replay(site: string, id: string, now: number): Promise<'replayed' | 'not_found' | 'not_failed'>;
  /** Deletes delivered and failed rows finished before `before`; returns how many. */
  prune(before: number, limit: number): Promise<number>;
}

/* ---------- runtime rules ---------- */

/** A custom segment rule saved through the API (collector/rules/), as stored. */
export interface StoredRule {
  name: string;
  /** The rule's JSON: `{when, description?, public?}`. */
  definition: string;
  /** The site's rules version when it was last saved (or deleted). */
  revision: number;
  /** The revision whose members the backfill has computed for every profile (0: none yet). */
  backfilled: number;
  /** Deleted, its members' exits not yet recorded by the backfill: not in force. */
  deleted: boolean;
  created: number;
  updated: number;
}

export interface RuleReads {
  /** Every site's rules version (sites that ever had a runtime rule): one small read. */
  versions(): Promise<Map<string, number>>;
  /** A site's rules (deleted ones pending their backfill included) and its version (0: none). */
  list(site: string): Promise<{ version: number; rules: StoredRule[] }>;
}

export interface RuleWrites {
  /**
   * Saves a rule (new, or a change of one, deleted or not) and raises the site's version, which
   * it answers; `too_many` (nothing written) when the site has `maxRules` other rules in force.
   */
  put(
    site: string,
    name: string,
    definition: string,
    now: number,
    maxRules: number,
  ): Promise<{ version: number } | 'too_many'>;
  /** Marks a rule deleted and raises the version; null when there is none in force. */
  delete(site: string, name: string, now: number): Promise<{ version: number } | null>;
  /**
   * After a backfill pass: each rule still at the revision the pass began with is backfilled, a
   * deleted one is dropped. Raises the version (other processes stop treating them as pending).
   */
  backfilled(
    site: string,
    done: { name: string; revision: number }[],
    now: number,
  ): Promise<number>;
}

/* ---------- goals (collector/goals/) ---------- */

/** A goal saved through the API, as stored. */
export interface StoredGoal {
  name: string;
  /** The goal's JSON (goals/goal.ts). */
  definition: string;
  created: number;
  updated: number;
}

/** The last model of a site's goal, as stored (goals/model.ts reads its JSON). */
export interface StoredGoalModel {
  goal: string;
  /** The goal's JSON as it was when trained. */
  definition: string;
  trained: number;
  /** `model`: trusted; `fallback`: too little data, the intent heuristic serves. */
  status: 'model' | 'fallback';
  /** The fitted model's JSON (null with `fallback`). */
  model: string | null;
  /** The holdout evaluation's JSON. */
  evaluation: string;
}

export interface GoalReads {
  /** A site's goals saved through the API, by name. */
  list(site: string): Promise<StoredGoal[]>;
  get(site: string, name: string): Promise<StoredGoal | undefined>;
  model(site: string, goal: string): Promise<StoredGoalModel | undefined>;
  /**
   * Per site with goals or models, a fingerprint that changes when one is saved, deleted or
   * retrained (goals/runtime.ts polls it, as runtime rules poll `rules.versions`).
   */
  versions(): Promise<Map<string, string>>;
}

export interface GoalWrites {
  /** Saves a goal (new or changed); `too_many` (nothing written) past `maxGoals` others. */
  put(
    site: string,
    name: string,
    definition: string,
    now: number,
    maxGoals: number,
  ): Promise<{ created: boolean } | 'too_many'>;
  /** Deletes a goal and its model; false when there was none. */
  delete(site: string, name: string): Promise<boolean>;
  /** Replaces the goal's model with this one. */
  saveModel(site: string, row: StoredGoalModel): Promise<void>;
}

/** One stored event as a training reads it (goals/train.ts): bots left out. */
export interface TrainingEvent {
  visitor: string;
  id: string;
  type: string;
  ts: number;
  category: string | null;
  value: number | null;
  props: Props | null;
  utm: Utm | null;
}

/** One stored profile as a scan reads it (rule preview). */
export interface ScannedProfile {
  visitor: string;
  /**
   * Null when the scan was asked for profiles active after `activeAfter` and this one was last
   * seen at or before it: neither its aggregate nor its traits were read.
   */
  profile: Profile | null;
  traits: Traits | undefined;
}

/* ---------- quarantine ---------- */

export interface QuarantineRow {
  seq: number;
  contact: string | null;
  site: string;
  visitor: string | null;
  eventId: string | null;
  source: string;
  received: number;
  error: string;
  message: string;
  payload: string;
}

/* ---------- audience, erasure, retention ---------- */

export interface SegmentCounts {
  /** Profiles per segment key. */
  keys: Record<string, number>;
  /** Profiles per custom segment. */
  custom: Record<string, number>;
}

/** Who an export or count is about: a custom segment by name, or segment keys by a `*` pattern. */
export type Audience = { kind: 'custom'; name: string } | { kind: 'key'; pattern: string };

export interface MemberRow {
  visitor: string;
  segment: string;
  /** JSON array of custom segment names. */
  segments: string;
  firstSeen: number;
  lastSeen: number;
  purchases: number;
  monetary: number;
}

/** Table → rows removed. */
export type Removed = Record<string, number>;

export interface ErasureResult {
  site: string;
  /** Every visitor id with rows erased (a contact's own `c:` id and its devices included). */
  visitors: string[];
  contact: string | null;
  removed: Removed;
}

/** What the health check reports about the database itself (writes failing are the queue's). */
export type DbHealth = { ok: true } | { ok: false; error: string; message: string };

/* ---------- dashboard ---------- */

/** One bucket of a site's activity: its events not flagged as bots, by event time. */
export interface ActivityRow {
  /** Start of the bucket, epoch ms. */
  start: number;
  /** Distinct visitor ids (browsers, and `c:` ids of contacts' server events). */
  visitors: number;
  /** Distinct known contacts among them. */
  contacts: number;
  events: number;
}

/** A segment's members as the snapshot of one day (UTC) recorded them. */
export interface SegmentSizeRow {
  /** Start of the day (UTC), epoch ms. */
  day: number;
  kind: 'key' | 'custom' | 'rfm';
  /** The microsegment key, the custom segment's name, or an RFM cell `r:f`. */
  name: string;
  members: number;
}

/** Key changes in one bucket that moved profiles from one lifecycle stage to another. */
export interface LifecycleMove {
  start: number;
  /** The stage before (null: a new visitor's first key). */
  from: string | null;
  to: string;
  n: number;
}

/** What the R×F grid is scored with: four last-purchase times and four purchase counts, ascending. */
export interface RfmThresholds {
  recency: readonly number[];
  frequency: readonly number[];
}

/** Customers in one cell of the R×F grid. */
export interface RfmCell {
  r: number;
  f: number;
  n: number;
}

/** A stored event as a visitor's timeline shows it (the answer's type, shared/stats.ts). */
export type TimelineEvent = VisitorEvent;

/** One figure of a rolled-up bucket (`stats_rollup`). */
export interface RollupRow {
  start: number;
  /** `events`, `visitors`, `contacts`, `move:<from>><to>` or `rolled`. */
  metric: string;
  value: number;
}

/** Aggregates for the dashboard and the public stats API: each one query on an index. */
export interface DashboardReads {
  /** Rolled-up figures of the buckets of `bucketMs` starting in [from, to). */
  rollup(site: string, bucketMs: number, from: number, to: number): Promise<RollupRow[]>;
  /** Activity per bucket of `bucketMs` from `from` (inclusive) to `to` (exclusive); empty buckets left out. */
  activity(site: string, from: number, to: number, bucketMs: number): Promise<ActivityRow[]>;
  /** Daily segment size snapshots with `fromDay <= day <= toDay`. */
  segmentSizes(site: string, fromDay: number, toDay: number): Promise<SegmentSizeRow[]>;
  /** Lifecycle moves per bucket, from the segment history (key changes between stages only). */
  lifecycleMoves(
    site: string,
    from: number,
    to: number,
    bucketMs: number,
  ): Promise<LifecycleMove[]>;
  /**
   * Customers per R×F cell, scored as the engine scores them (`scoreAbove`): `recency` the four
   * last-purchase times, `frequency` the four purchase counts, ascending.
   */
  rfmCells(
    site: string,
    recency: readonly number[],
    frequency: readonly number[],
  ): Promise<RfmCell[]>;
  /**
   * A visitor's (or, with `contact`, a contact's on all its devices) events, newest first,
   * before the `(ts, id)` cursor.
   */
  timeline(
    site: string,
    who: { visitor: string } | { contact: string },
    limit: number,
    before?: { ts: number; id: string },
  ): Promise<TimelineEvent[]>;
}

/* ---------- the whole ---------- */

/** The reads, the same in a transaction and outside one. */
export interface StorageReads {
  /** Whether the dashboard session `id` was signed out (`dashboard_signouts`): one indexed read. */
  signedOut(id: string): Promise<boolean>;
  profile(site: string, visitor: string): Promise<StoredProfile | undefined>;
  /**
   * The segment read path at `now` (default: the wall clock): the visitor's link when in force,
   * its profile and traits (from the read cache when it holds them).
   */
  segmentInputs(site: string, visitor: string, now?: number): Promise<SegmentInputs>;
  /** A visitor's segment changes, oldest first, after the `after` cursor (a `seq`). */
  segmentHistory(
    site: string,
    visitor: string,
    opts?: { after?: number; limit?: number },
  ): Promise<HistoryEntry[]>;
  /** The site's RFM quintiles (cached in memory; null until enough customers). */
  rfmBreakpoints(site: string): Promise<RfmBreakpoints | null>;
  /** Event count of a site (or of one visitor). */
  countEvents(site: string, visitor?: string): Promise<number>;
  readonly identity: IdentityReads;
  readonly outbox: OutboxReads;
  readonly rules: RuleReads;
  readonly goals: GoalReads;
}

/** The writes, inside a transaction (a job of `Storage.write`). */
export interface StorageTx extends StorageReads {
  readonly identity: IdentityReads & IdentityWrites;
  readonly outbox: OutboxReads & OutboxWrites;
  readonly rules: RuleReads & RuleWrites;
  readonly goals: GoalReads & GoalWrites;
  /** Records the sign-out of dashboard session `id`, kept until `exp` (the session's expiry). */
  signOut(id: string, exp: number): Promise<void>;
  /** Deletes at most `limit` sign-outs whose session expired by `now`; returns how many. */
  pruneSignouts(now: number, limit: number): Promise<number>;
  /**
   * Stores the events, folds the new ones into the profile (the visitor's, or `extras.profile`)
   * and records any segment change; change listeners run in this transaction.
   * `extras.traits` reach custom rules (`trait.<name>`).
   */
  ingest(
    site: string,
    visitor: string,
    batch: NewEvent[],
    engine: EngineConfig,
    now: number,
    extras?: IngestExtras,
  ): Promise<IngestResult>;
  /**
   * `ingest` into the profile of whoever `who` is at `now`, found in the same step: a contact's
   * own (`c:<contact>`), or a visitor's linked contact's while the link is in force, else the
   * visitor's own; the profile's traits reach the rules. Events are stored under the visitor (a
   * contact's under `c:<contact>`). One call rather than reads then `ingest`, so a backend can
   * fold the link read, the profile's lock and its read into few round trips (PostgreSQL:
   * pg/profiles.ts), and still fold into the profile the link names once the lock is held.
   */
  ingestSubject(
    site: string,
    who: IngestSubject,
    batch: NewEvent[],
    engine: EngineConfig,
    now: number,
  ): Promise<SubjectIngest>;
  /**
   * Folds profile `from` into profile `into` (identify: an anonymous visitor into its contact)
   * with the engine's `mergeProfiles`, and deletes `from`: merged once only.
   */
  mergeProfile(
    site: string,
    from: string,
    into: string,
    engine: EngineConfig,
    now: number,
    extras?: Pick<Extras, 'traits'>,
  ): Promise<Segment | null>;
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
  ): Promise<{ next: string | null; changed: number }>;
  /**
   * Runs `fn` on a later turn once this job's transaction has committed, outside the job (its
   * writes are jobs of their own); never when the job fails or rolls back. For work that must see
   * the committed rows, such as waking the webhook worker for the deliveries just enqueued.
   */
  afterCommit(fn: () => void): void;
  /** Recomputes the site's quintiles from its customers; null (fixed thresholds) under `minCustomers`. */
  recomputeRfm(site: string, minCustomers: number, now: number): Promise<RfmBreakpoints | null>;
  /**
   * Keeps refused events of one request for one site, at most `LIMITS.quarantinePerRequest` and
   * the site's `rowsPerDay` a day. Returns how many were not kept (told to `onSkipped` listeners).
   */
  keepRefused(
    site: string,
    source: 'collect' | 'events',
    rows: Refusal[],
    now: number,
    policy: QuarantinePolicy,
  ): Promise<number>;
  /**
   * Records the site's segment sizes now (members per key and custom segment, from the stored
   * profiles) as the snapshot of the UTC day starting at `day`, replacing an earlier one of that
   * day. With `rfm`, the R×F grid's customers too (kind `rfm`, name `r:f`), so an overview reads
   * the grid from the snapshot. Returns the rows written.
   */
  snapshotSegmentSizes(
    site: string,
    day: number,
    now: number,
    rfm?: RfmThresholds,
  ): Promise<number>;
  /**
   * Rolls up the activity and lifecycle moves of the buckets of `bucketMs` in [from, to) (whole
   * buckets) into `stats_rollup`, replacing earlier rows of those buckets, each marked `rolled`.
   */
  rollupStats(site: string, bucketMs: number, from: number, to: number, now: number): Promise<void>;
  /** Erases everything stored about one visitor id. */
  eraseVisitor(site: string, visitor: string): Promise<ErasureResult>;
  /** Erases a contact: its profile, identity, its linked devices' rows. */
  eraseContact(site: string, contact: string, now: number): Promise<ErasureResult>;
  /**
   * Deletes at most `limit` rows of one site older than `cutoff` from one aging table
   * (storage/aging.ts); returns how many.
   */
  pruneAged(
    table: string,
    columns: string[],
    site: string,
    cutoff: number,
    limit: number,
  ): Promise<number>;
}

export interface StorageOptions {
  /** Profiles kept parsed in memory for segment reads (0: none); the backend's default when omitted. */
  profileCache?: number | undefined;
  /**
   * SQLite: WAL checkpoints from a worker thread every this many ms, so that the writer never
   * waits for them; by the writer itself, inside the commit (SQLite's default), when omitted.
   */
  checkpointEveryMs?: number | undefined;
  /** Told when a background checkpoint fails (it is tried again on the next tick). */
  onCheckpointError?: ((message: string) => void) | undefined;
  /** PostgreSQL: connections in the pool, i.e. write jobs and reads at once (default 10). */
  poolSize?: number | undefined;
  /**
   * PostgreSQL: told when an idle connection fails (the server ended it: a restart, an idle
   * timeout); the pool replaces it when needed. Default: a line on stderr.
   */
  onPoolError?: ((message: string) => void) | undefined;
}

/**
 * Who runs a piece of work that must run in one process at a time among all those sharing the
 * database (the background jobs: RFM recompute, the segment sweep, retention). PostgreSQL: a
 * session-level advisory lock held on a connection of its own, tried again every `retryMs` by
 * the others; when the holder dies (its connection closes) or the server ends that session, the
 * lock is free and the next try takes it. SQLite: one process, always the leader.
 */
export interface Leadership {
  /** Whether this process holds it now. */
  readonly held: boolean;
  /** Resolves once the first try is over (taken or not), for the start-up log. */
  readonly ready: Promise<void>;
  /** Gives it up (the connection closes) and stops trying; resolves once released. */
  stop(): Promise<void>;
}

export interface LeadershipOptions {
  /** How often a process that does not hold it tries again, and the holder checks its connection. */
  retryMs?: number | undefined;
  /** Told each time it is taken (true) or lost (false). */
  onChange?: ((held: boolean) => void) | undefined;
  /** Told when a try or the check fails for a database reason (it is tried again). */
  onError?: ((message: string) => void) | undefined;
}

/** Told of the write path's work, for `/metrics`. */
export interface WriteObserver {
  /** Jobs waiting for a transaction, after each change. */
  depth(n: number): void;
  /** One write transaction committed (or failed) after this many seconds. */
  committed(seconds: number): void;
}

/** The write path's state, for `/healthz` and `/metrics`. */
export interface WriteState {
  /** The last write that failed for a storage reason and no write succeeded since, or null. */
  readonly failing: { code: string; at: number } | null;
  /** Jobs waiting for the next transaction. */
  readonly depth: number;
}

export interface Storage extends StorageReads {
  /** The backend, for logs and `doctor`: 'sqlite' | 'postgres'. */
  readonly kind: 'sqlite' | 'postgres';
  /**
   * The SQLite file another thread may open read-only beside this storage (WAL: its reads never
   * wait for the writer), for a goal training's reads off the collector's thread; null for an
   * in-memory database and for PostgreSQL.
   */
  readonly sqliteFile: string | null;
  /**
   * Runs `job` in a write transaction; resolves with its result once committed, rejects with the
   * job's error (its writes rolled back, and only its) or the commit's (the whole group's).
   * Refused inside a job (see above).
   */
  write<T>(job: (tx: StorageTx) => Promise<T>): Promise<T>;
  /** Each write alone, as a job of its own. */
  readonly identity: IdentityReads & IdentityWrites;
  readonly outbox: OutboxReads & OutboxWrites & OutboxLeases;
  /** Adds a listener of segment changes (runs inside the recording transaction). */
  onChanges(listener: ChangeListener): void;
  /** Adds an observer of write transactions (metrics). */
  observeWrites(observer: WriteObserver): void;
  /** Refused events of a site, newest first, before the `before` cursor (a `seq`). */
  quarantined(site: string, limit?: number, before?: number): Promise<QuarantineRow[]>;
  /** Called with the refusals of each request that were counted but not kept. */
  onSkipped(listener: (site: string, n: number) => void): void;
  segmentCounts(site: string): Promise<SegmentCounts>;
  countMembers(site: string, audience: Audience): Promise<number>;
  /** The dashboard's aggregates (stats API, visitor timeline). */
  readonly dashboard: DashboardReads;
  /**
   * Members of an audience, streamed from one consistent snapshot taken at the first row asked
   * for; ending the iteration early (`break`, `return()`) releases the snapshot. SQLite needs a
   * database file for it (not ':memory:'): the first `next()` rejects otherwise.
   */
  members(site: string, audience: Audience): AsyncIterable<MemberRow>;
  /**
   * Up to `limit` stored profiles of a site after the `after` profile id, in id order: the rule
   * preview's scan. With `traits`, their traits (else undefined: a rule reading none skips the
   * join). With `columns`, not the stored aggregate but a profile made from the row's columns
   * (`profileFromColumns`): enough for a rule on lifecycle, RFM, purchase counts and totals and
   * `days.*`, and no JSON to read. With `activeAfter` (epoch ms), a profile whose `last_seen` is
   * at or before it comes back with `profile: null`, its aggregate and traits unread (the
   * preview's prefilter for a rule that needs a recent event, engine/active.ts); it still takes
   * its place in the page, so paging and the count of profiles scanned are unchanged.
   * Not a snapshot: each page is read on its own.
   */
  scanProfiles(
    site: string,
    after: string,
    limit: number,
    opts: { traits: boolean; columns: boolean; activeAfter?: number | undefined },
  ): Promise<ScannedProfile[]>;
  /**
   * Up to `limit` of a site's events (bots left out) after the `(visitor, ts, id)` cursor, in
   * that order, so each visitor's events come together and in time order: a training's read.
   * Not a snapshot: each page is read on its own.
   */
  trainingEvents(
    site: string,
    after: { visitor: string; ts: number; id: string } | null,
    limit: number,
  ): Promise<TrainingEvent[]>;
  /** The sites with at least one profile, sorted (the CLI's hint on a mistyped site). */
  sitesWithProfiles(): Promise<string[]>;
  /**
   * Starts contending for the leadership named `name` (one holder among every process on the
   * database); stopped by `stop()` or by `close()`.
   */
  lead(name: string, opts?: LeadershipOptions): Leadership;
  /** Whether the database answers and has room; writes failing are `writes.failing`. */
  health(): Promise<DbHealth>;
  readonly writes: WriteState;
  /** Resolves when every queued write has committed (graceful shutdown). */
  drain(): Promise<void>;
  /**
   * Drains the queued writes, then closes the database (a second call does nothing). Resolves once
   * every connection is closed: on PostgreSQL, no session of this storage is left on the server.
   */
  close(): Promise<void>;
}
