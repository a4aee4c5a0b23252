/**
 * The PostgreSQL backend of the storage contract (../contract.ts), assembled from its modules as
 * sqlite/index.ts assembles SQLite's. Each write job runs in a transaction of its own on a pooled
 * client (write.ts), with a transaction object bound to that client; reads run on the pool, or on
 * the job's client when made inside a job. So the same module code reads committed rows outside a
 * job and the job's own rows inside it.
 *
 * Single-process assumption left here (issue 16): the RFM quintiles an ingest uses are cached in
 * memory (rfm.ts) for RFM_CACHE_MS; another process's recompute reaches them within that time.
 * Segment reads are not cached past the server's word (reads.ts).
 */
import { contactKey } from '../../identity/token.ts';
import type {
  Change,
  ChangeListener,
  IdentityReads,
  IdentityWrites,
  Leadership,
  OutboxLeases,
  OutboxReads,
  OutboxWrites,
  Storage,
  StorageOptions,
  StorageReads,
  StorageTx,
  WriteObserver,
} from '../contract.ts';
import { identityWritesAsJobs, outboxWritesAsJobs } from '../single-writes.ts';
import type { Queryable } from './db.ts';
import { identityPg as identity } from './identity.ts';
import { migratePg } from './migrate.ts';
import { countMembers, members, segmentCounts, sitesWithProfiles } from './audience.ts';
import { claimAnonymousRows, eraseContact, eraseVisitor, pruneBatch } from './erasure.ts';
import { pgHealth } from './health.ts';
import { dashboardPg, rollupStats, snapshotSegmentSizes } from './dashboard.ts';
import { pgLeadership } from './leader.ts';
import { outboxPg } from './outbox.ts';
import { quarantinePg } from './quarantine.ts';
import { rfmPg } from './rfm.ts';
import { createPool, endPool } from './pool.ts';
import { lockProfiles, profilesPg } from './profiles.ts';
import { pgReadPath, segmentInputs } from './reads.ts';
import { type JobClient, pgWritePath } from './write.ts';
import { rulesPg, scanProfiles } from './rules.ts';
import { goalsPg, trainingEvents } from './goals.ts';
import { signoutsPg } from './signouts.ts';

/**
 * Opens the PostgreSQL storage at `url` (`postgres://…`): applies the pending migrations, then
 * opens the pool. The URL holds a password: nothing here repeats it.
 */
export async function openPgStorage(url: string, opts: StorageOptions = {}): Promise<Storage> {
  await migratePg(url);
  const pool = createPool(url, { size: opts.poolSize, onError: opts.onPoolError });

  const rfm = rfmPg(pool);
  // Inside a job, on its client (never a second pooled connection: see rfm.ts).
  const breakpointsFor = (site: string, q: Queryable) => rfm.breakpoints(site, q);
  const profiles = profilesPg(breakpointsFor);

  const listeners: ChangeListener[] = [];
  const skippedListeners: ((site: string, n: number) => void)[] = [];
  const skipped = (site: string, n: number) => {
    for (const l of skippedListeners) l(site, n);
  };
  /** Tells the listeners of a change inside the job's transaction, one after the other. */
  const tell = async (change: Change, tx: StorageTx) => {
    for (const l of listeners) await l(change, tx);
  };

  const identityReadsOn = (q: Queryable): IdentityReads => ({
    subject: (site, visitor, now) => identity.subject(q, site, visitor, now),
    linkOf: (site, visitor) => identity.linkOf(q, site, visitor),
    grantDevices: (site, grant, except) => identity.grantDevices(q, site, grant, except),
    contactExists: (site, contact) => identity.contactExists(q, site, contact),
    linkedVisitors: (site, contact) => identity.linkedVisitors(q, site, contact),
    meta: (site, key) => identity.meta(q, site, key),
  });
  const identityWritesOn = (q: Queryable): IdentityWrites => ({
    ensureContact: (site, contact, now) => identity.ensureContact(q, site, contact, now),
    link: (site, visitor, contact, grant, expires, now) =>
      identity.link(q, site, visitor, contact, grant, expires, now),
    setMeta: (site, key, m, now) => identity.setMeta(q, site, key, m, now),
    deleteMeta: (site, key) => identity.deleteMeta(q, site, key),
    claimAnonymousRows: (site, visitor, contact) => claimAnonymousRows(q, site, visitor, contact),
  });
  const readsOn = (q: Queryable): Omit<StorageReads, 'identity' | 'outbox'> => ({
    rules: rulesPg(q),
    goals: goalsPg(q),
    signedOut: (id) => signoutsPg(q).signedOut(id),
    profile: (site, visitor) => profiles.profile(q, site, visitor),
    segmentInputs: (site, visitor, now) =>
      segmentInputs(q, (s) => breakpointsFor(s, q), site, visitor, now),
    segmentHistory: (site, visitor, o = {}) => profiles.segmentHistory(q, site, visitor, o),
    rfmBreakpoints: (site) => breakpointsFor(site, q),
    countEvents: (site, visitor) => profiles.countEvents(q, site, visitor),
  });

  /**
   * The transaction object of one write job, bound to the client holding its transaction.
   * `job.rfm` is set when the job recomputed quintiles: rfm.ts caches them at once, so a job that
   * then rolls back must drop them (write, below).
   */
  function txOn(client: JobClient, job: { rfm: boolean; after: (() => void)[] }): StorageTx {
    // The job's outbox, rules and identity are built on first use: most jobs (an ingest) touch
    // none of them, and their ~30 closures built per job showed in the ingest's CPU profile.
    let outbox: ReturnType<typeof outboxPg> | undefined;
    let rules: ReturnType<typeof rulesPg> | undefined;
    let goals: ReturnType<typeof goalsPg> | undefined;
    let identityTx: StorageTx['identity'] | undefined;
    const identityOn = (): StorageTx['identity'] => ({
      ...identityReadsOn(client),
      // Read to be written back (traits patched, two profiles' traits merged): under the
      // profile's lock, as ingest reads its profile, or two jobs at once would each write back
      // what they read and one's change would be lost. The lock is the transaction's until it
      // ends, taken again at no cost by the ingest or merge that follows.
      async meta(site, key) {
        await lockProfiles(client, site, [key]);
        return identity.meta(client, site, key);
      },
      ...identityWritesOn(client),
    });
    const tx: StorageTx = {
      profile: (site, visitor) => profiles.profile(client, site, visitor),
      segmentInputs: (site, visitor, now) =>
        segmentInputs(client, (s) => breakpointsFor(s, client), site, visitor, now),
      segmentHistory: (site, visitor, o = {}) => profiles.segmentHistory(client, site, visitor, o),
      rfmBreakpoints: (site) => breakpointsFor(site, client),
      countEvents: (site, visitor) => profiles.countEvents(client, site, visitor),
      get identity() {
        identityTx ??= identityOn();
        return identityTx;
      },
      get outbox() {
        outbox ??= outboxPg(client);
        return outbox;
      },
      get rules() {
        rules ??= rulesPg(client);
        return rules;
      },
      get goals() {
        goals ??= goalsPg(client);
        return goals;
      },
      ...signoutsPg(client),
      async ingest(site, visitor, batch, engine, now, extras) {
        const { result, change } = await profiles.ingest(
          client,
          site,
          visitor,
          batch,
          engine,
          now,
          extras,
        );
        if (change && listeners.length > 0) await tell(change, tx);
        return result;
      },
      async ingestSubject(site, who, batch, engine, now) {
        const { change, ...out } = await profiles.ingestSubject(
          client,
          site,
          who,
          batch,
          engine,
          now,
        );
        if (change && listeners.length > 0) await tell(change, tx);
        return out;
      },
      async mergeProfile(site, from, into, engine, now, extras) {
        const { segment, change } = await profiles.mergeProfile(
          client,
          site,
          from,
          into,
          engine,
          now,
          extras,
        );
        if (change && listeners.length > 0) await tell(change, tx);
        return segment;
      },
      async refreshSegments(site, engine, now, after, limit) {
        const { next, changed, changes } = await profiles.refreshSegments(
          client,
          site,
          engine,
          now,
          after,
          limit,
        );
        // A change of quiet segments only (a backfill) is recorded but told to nobody (fold.ts).
        if (listeners.length > 0)
          for (const change of changes) if (change.changes.length > 0) await tell(change, tx);
        return { next, changed };
      },
      recomputeRfm: (site, minCustomers, now) => {
        job.rfm = true;
        return rfm.recompute(client, site, minCustomers, now);
      },
      keepRefused: (site, source, rows, now, policy) =>
        quarantinePg(client).keep(site, source, rows, now, policy, skipped),
      // Under the profiles' locks, as ingest: an ingest that read a profile before the erasure
      // would otherwise write it back after it (profiles.ts).
      async eraseVisitor(site, visitor) {
        await lockProfiles(client, site, [visitor]);
        return eraseVisitor(client, site, visitor);
      },
      async eraseContact(site, contact, now) {
        const devices = await identity.linkedVisitors(client, site, contact);
        await lockProfiles(client, site, [contactKey(contact), ...devices]);
        return eraseContact(client, site, contact, now);
      },
      snapshotSegmentSizes: (site, day, now, rfm) =>
        snapshotSegmentSizes(client, site, day, now, rfm),
      rollupStats: (site, bucket, from, to, now) =>
        rollupStats(client, site, bucket, from, to, now),
      pruneAged: (table, columns, site, cutoff, limit) =>
        pruneBatch(client, table, columns, site, cutoff, limit),
      afterCommit: (fn) => void job.after.push(fn),
    };
    return tx;
  }

  const observers: WriteObserver[] = [];
  const writes = pgWritePath(pool, observers);
  /** Storage's reads: on the pool, or on the job's connection when called inside a job (write.ts). */
  const reader: Queryable = {
    query: ((...args: unknown[]) => {
      const q: { query(...a: unknown[]): unknown } = writes.current() ?? pool;
      return q.query(...args);
    }) as Queryable['query'],
  };
  const write = <T>(job: (tx: StorageTx) => Promise<T>): Promise<T> => {
    const state = { rfm: false, after: [] as (() => void)[] };
    const done = writes.run((client) => {
      // An attempt run again (a deadlock lost) asks again for what it needs after its commit.
      state.after = [];
      return job(txOn(client, state));
    });
    return done.then(
      (value) => {
        // Committed; here the caller's context, not the job's: their writes are jobs of their own.
        for (const fn of state.after) setImmediate(fn);
        return value;
      },
      (err: unknown) => {
        if (state.rfm) rfm.clear();
        throw err;
      },
    );
  };
  let closing: Promise<void> | null = null;
  /** Leaderships still contending: `close` gives them up with the pool. */
  const leaders = new Set<Leadership>();

  const outboxReads: OutboxReads & OutboxLeases = outboxPg(reader);
  const readPath = pgReadPath(pool, opts.profileCache);
  const storage: Storage = {
    kind: 'postgres',
    sqliteFile: null,
    ...readsOn(reader),
    // Inside a write job: on the job's connection, uncached (reads.ts).
    segmentInputs: (site, visitor, now) => {
      const client = writes.current();
      return client === undefined
        ? readPath.segmentInputs(site, visitor, now)
        : segmentInputs(client, (s) => breakpointsFor(s, client), site, visitor, now);
    },
    write,
    identity: {
      ...identityReadsOn(reader),
      ...identityWritesAsJobs(write),
    },
    outbox: {
      due: (...a) => outboxReads.due(...a),
      list: (...a) => outboxReads.list(...a),
      get: (...a) => outboxReads.get(...a),
      nextDue: () => outboxReads.nextDue(),
      counts: () => outboxReads.counts(),
      // Each one statement, committed on its own: a claim is not held for the send.
      claim: (...a) => outboxReads.claim(...a),
      renew: (...a) => outboxReads.renew(...a),
      release: (...a) => outboxReads.release(...a),
      ...outboxWritesAsJobs(write),
    } satisfies OutboxReads & OutboxWrites & OutboxLeases,
    onChanges: (l) => void listeners.push(l),
    observeWrites: (o) => void observers.push(o),
    quarantined: (site, limit, before) => quarantinePg(reader).list(site, limit, before),
    onSkipped: (l) => void skippedListeners.push(l),
    segmentCounts: (site) => segmentCounts(reader, site),
    countMembers: (site, audience) => countMembers(reader, site, audience),
    dashboard: dashboardPg(reader),
    members: (site, audience) => members(pool, site, audience),
    sitesWithProfiles: () => sitesWithProfiles(reader),
    scanProfiles: (site, after, limit, opts) => scanProfiles(reader, site, after, limit, opts),
    trainingEvents: (site, after, limit) => trainingEvents(reader, site, after, limit),
    lead(name, o) {
      const l = pgLeadership(url, name, o);
      leaders.add(l);
      return {
        get held() {
          return l.held;
        },
        ready: l.ready,
        stop() {
          leaders.delete(l);
          return l.stop();
        },
      };
    },
    health: () => pgHealth(pool),
    writes,
    drain: () => writes.drain(),
    close() {
      closing ??= (async () => {
        writes.close();
        await writes.drain();
        await Promise.all([...leaders].map((l) => l.stop()));
        // Once every connection has closed: pool.end() alone resolves before they do (pool.ts).
        await endPool(pool);
      })();
      return closing;
    },
  };
  return storage;
}
