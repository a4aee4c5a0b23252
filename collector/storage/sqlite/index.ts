/**
 * The SQLite backend of the storage contract (../contract.ts). Its modules keep the proven
 * synchronous better-sqlite3 code (sync and fast); this one assembles them and exposes them
 * through the async contract: a read is the sync read in an async function, a write is a job of
 * the group-commit write queue (write-queue.ts).
 */
import type Database from 'better-sqlite3';
import type {
  ChangeListener,
  Change,
  IdentityReads,
  IdentityWrites,
  OutboxReads,
  OutboxWrites,
  Storage,
  StorageOptions,
  StorageReads,
  StorageTx,
  WriteObserver,
} from '../contract.ts';
import { contactKey } from '../../identity/token.ts';
import { identityWritesAsJobs, outboxWritesAsJobs } from '../single-writes.ts';
import { openDb } from './open.ts';
import { startCheckpointer } from './checkpointer.ts';
import { readPath } from './reads.ts';
import { rfmStore } from './rfm.ts';
import { identityStore } from './identity.ts';
import { outboxStore, singleProcessLeases } from './outbox.ts';
import { quarantineStore } from './quarantine.ts';
import { profileStore } from './profiles.ts';
import { claimAnonymousRows, eraseContact, eraseVisitor, pruneBatch } from './erasure.ts';
import { countMembers, members, segmentCounts, sitesWithProfiles } from './audience.ts';
import { sqliteHealth } from './health.ts';
import { dashboardStore } from './dashboard.ts';
import { writeQueue } from './write-queue.ts';
import { profileScan, ruleStore } from './rules.ts';
import { goalStore, trainingEventPages } from './goals.ts';
import { signoutStore } from './signouts.ts';

export { DEFAULT_PROFILE_CACHE, READ_PATH_SQL } from './reads.ts';
/** The `drizzle/` folder of the SQLite migrations (`microseg backup` checks a copy's schema against it). */
export { migrationsFolder } from './open.ts';
export type { StorageOptions } from '../contract.ts';

const handles = new WeakMap<Storage, Database.Database>();

/**
 * The escape hatch: the better-sqlite3 connection of a SQLite storage, for the SQLite-only tools
 * (`microseg backup`, `doctor`) and for tests that look at rows and query plans. Nothing else
 * uses it: everything the collector does goes through the contract. Writes on it bypass the
 * write queue (and must not happen while the collector serves). Throws for another backend.
 */
export function sqliteHandle(storage: Storage): Database.Database {
  const handle = handles.get(storage);
  if (!handle) throw new Error(`microseg: not a SQLite storage (${storage.kind})`);
  return handle;
}

export async function openSqliteStorage(file: string, opts: StorageOptions = {}): Promise<Storage> {
  const db = openDb(file);
  const sqlite = db.$client;
  const checkpointer =
    opts.checkpointEveryMs && file !== ':memory:'
      ? startCheckpointer(sqlite, file, opts.checkpointEveryMs, opts.onCheckpointError)
      : null;

  // RFM quintiles (rfm.ts). A commit by another connection (`microseg rfm` on the file) drops
  // them with the read cache, so the next read takes the new ones.
  const rfm = rfmStore(db);
  const reads = readPath(
    sqlite,
    opts.profileCache,
    () => rfm.clear(),
    (site) => rfm.breakpoints(site),
  );
  const breakpointsFor = (site: string) => {
    reads.dropIfWrittenElsewhere();
    return rfm.breakpoints(site);
  };
  const profiles = profileStore(db, breakpointsFor);
  const identity = identityStore(db);
  const outbox = outboxStore(db);
  const quarantine = quarantineStore(db);
  const dashboard = dashboardStore(sqlite);
  const rules = ruleStore(sqlite);
  const goals = goalStore(sqlite);
  const trainingPage = trainingEventPages(sqlite);
  const signouts = signoutStore(sqlite);
  const scan = profileScan(sqlite);

  const listeners: ChangeListener[] = [];
  const skippedListeners: ((site: string, n: number) => void)[] = [];
  const skipped = (site: string, n: number) => {
    for (const l of skippedListeners) l(site, n);
  };
  /** Tells the listeners of a change inside the job's transaction, one after the other. */
  const tell = async (change: Change, tx: StorageTx) => {
    for (const l of listeners) await l(change, tx);
  };

  const identityReads: IdentityReads = {
    subject: async (site, visitor, now) => identity.subject(site, visitor, now),
    linkOf: async (site, visitor) => identity.linkOf(site, visitor),
    grantDevices: async (site, grant, except) => identity.grantDevices(site, grant, except),
    contactExists: async (site, contact) => identity.contactExists(site, contact),
    linkedVisitors: async (site, contact) => identity.linkedVisitors(site, contact),
    meta: async (site, key) => identity.meta(site, key),
  };
  const identityWrites: IdentityWrites = {
    ensureContact: async (site, contact, now) => identity.ensureContact(site, contact, now),
    link: async (site, visitor, contact, grant, expires, now) =>
      identity.link(site, visitor, contact, grant, expires, now),
    setMeta: async (site, key, m, now) => identity.setMeta(site, key, m, now),
    deleteMeta: async (site, key) => identity.deleteMeta(site, key),
    claimAnonymousRows: async (site, visitor, contact) =>
      claimAnonymousRows(db, site, visitor, contact),
  };
  const outboxReads: OutboxReads = {
    due: async (now, limit, skip) => outbox.due(now, limit, skip),
    list: async (site, o) => outbox.list(site, o),
    get: async (site, id) => outbox.get(site, id),
    nextDue: async () => outbox.nextDue(),
    counts: async () => outbox.counts(),
  };
  const outboxWrites: OutboxWrites = {
    enqueue: async (rows, now) => outbox.enqueue(rows, now),
    takeTurn: async (site, profile, hook, cooldownMs, now) =>
      outbox.takeTurn(site, profile, hook, cooldownMs, now),
    delivered: async (id, attempts, status, now) => outbox.delivered(id, attempts, status, now),
    attemptFailed: async (id, attempts, status, error, now, next) =>
      outbox.attemptFailed(id, attempts, status, error, now, next),
    replay: async (site, id, now) => outbox.replay(site, id, now),
    prune: async (before, limit) => outbox.prune(before, limit),
  };

  const ruleReads = { versions: rules.versions, list: rules.list };
  const goalReads = {
    list: goals.list,
    get: goals.get,
    model: goals.model,
    versions: goals.versions,
  };

  const storageReads: Omit<StorageReads, 'identity' | 'outbox' | 'rules' | 'goals'> = {
    signedOut: signouts.signedOut,
    profile: async (site, visitor) => profiles.profile(site, visitor),
    segmentInputs: async (site, visitor, now) => reads.segmentInputs(site, visitor, now),
    segmentHistory: async (site, visitor, o = {}) => profiles.segmentHistory(site, visitor, o),
    rfmBreakpoints: async (site) => breakpointsFor(site),
    countEvents: async (site, visitor) => profiles.countEvents(site, visitor),
  };

  // One transaction object for every job: the queue runs one group at a time on one connection.
  const tx: StorageTx = {
    ...storageReads,
    identity: { ...identityReads, ...identityWrites },
    outbox: { ...outboxReads, ...outboxWrites },
    rules,
    goals,
    signOut: signouts.signOut,
    pruneSignouts: signouts.pruneSignouts,
    async ingest(site, visitor, batch, engine, now, extras) {
      const { result, change } = profiles.ingest(site, visitor, batch, engine, now, extras);
      if (change && listeners.length > 0) await tell(change, tx);
      return result;
    },
    // One writer: nothing can move the link between its read and the ingest.
    async ingestSubject(site, who, batch, engine, now) {
      const subject =
        'contact' in who
          ? { key: contactKey(who.contact), contact: who.contact }
          : identity.subject(site, who.visitor, now);
      const eventsAs = 'contact' in who ? subject.key : who.visitor;
      const meta = identity.meta(site, subject.key);
      const { result, change } = profiles.ingest(site, eventsAs, batch, engine, now, {
        traits: meta?.traits,
        profile: subject.key,
      });
      if (change && listeners.length > 0) await tell(change, tx);
      return { result, key: subject.key, known: subject.contact !== null, meta };
    },
    async mergeProfile(site, from, into, engine, now, extras) {
      const { segment, change } = profiles.mergeProfile(site, from, into, engine, now, extras);
      if (change && listeners.length > 0) await tell(change, tx);
      return segment;
    },
    async refreshSegments(site, engine, now, after, limit) {
      const { next, changed, changes } = profiles.refreshSegments(site, engine, now, after, limit);
      // A change of quiet segments only (a backfill) is recorded but told to nobody (fold.ts).
      if (listeners.length > 0)
        for (const change of changes) if (change.changes.length > 0) await tell(change, tx);
      return { next, changed };
    },
    recomputeRfm: async (site, minCustomers, now) => rfm.recompute(site, minCustomers, now),
    afterCommit: (fn) => queue.afterCommit(fn),
    keepRefused: async (site, source, rows, now, policy) =>
      quarantine.keep(site, source, rows, now, policy, skipped),
    snapshotSegmentSizes: async (site, day, now, rfm) => dashboard.snapshot(site, day, now, rfm),
    rollupStats: async (site, bucket, from, to, now) =>
      dashboard.rollupStats(site, bucket, from, to, now),
    eraseVisitor: async (site, visitor) => eraseVisitor(db, site, visitor),
    eraseContact: async (site, contact, now) => eraseContact(db, site, contact, now),
    pruneAged: async (table, columns, site, cutoff, limit) =>
      pruneBatch(db, table, columns, site, cutoff, limit),
  };

  const observers: WriteObserver[] = [];
  const queue = writeQueue(sqlite, tx, observers, undefined, () => checkpointer?.hold() ?? null);
  const write = queue.run;
  let closed = false;

  const storage: Storage = {
    kind: 'sqlite',
    sqliteFile: file === ':memory:' || file === '' ? null : file,
    ...storageReads,
    write,
    identity: {
      ...identityReads,
      ...identityWritesAsJobs(write),
    },
    outbox: {
      ...outboxReads,
      ...singleProcessLeases(outbox),
      ...outboxWritesAsJobs(write),
    },
    rules: ruleReads,
    goals: goalReads,
    trainingEvents: async (site, after, limit) => trainingPage(site, after, limit),
    scanProfiles: async (site, after, limit, opts) => scan(site, after, limit, opts),
    onChanges: (l) => void listeners.push(l),
    observeWrites: (o) => void observers.push(o),
    quarantined: async (site, limit, before) => quarantine.list(site, limit, before),
    onSkipped: (l) => void skippedListeners.push(l),
    segmentCounts: async (site) => segmentCounts(db, site),
    countMembers: async (site, audience) => countMembers(db, site, audience),
    dashboard,
    members: (site, audience) => members(db, site, audience),
    sitesWithProfiles: async () => sitesWithProfiles(db),
    // One process writes a SQLite file: it leads whatever there is to lead.
    lead(_name, o) {
      o?.onChange?.(true);
      return { held: true, ready: Promise.resolve(), stop: async () => {} };
    },
    health: async () => sqliteHealth(sqlite),
    writes: queue,
    drain: () => queue.drain(),
    async close() {
      if (closed) return;
      closed = true;
      await queue.drain();
      checkpointer?.stop();
      sqlite.close();
    },
  };
  handles.set(storage, sqlite);
  return storage;
}
