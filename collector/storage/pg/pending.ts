/**
 * SCRATCH, deleted at the merge with branch `pgrest`: minimal stand-ins with the signatures of the
 * modules that branch writes (outbox.ts, quarantine.ts, audience.ts, erasure.ts, rfm.ts,
 * health.ts), so that the backend's core assembles and its tests run before they exist. Each
 * refuses what it cannot do rather than pretending.
 */
import type pg from 'pg';
import type { RfmBreakpoints } from '../../engine/index.ts';
import type {
  Audience,
  DbHealth,
  ErasureResult,
  MemberRow,
  OutboxReads,
  OutboxWrites,
  QuarantineRow,
  SegmentCounts,
} from '../contract.ts';
import type { QuarantinePolicy, Refusal } from '../quarantine.ts';
import type { Queryable } from './db.ts';

const later = (what: string) => new Error(`microseg: PostgreSQL ${what} is not built yet`);
const refuse = async (): Promise<never> => {
  throw later('this operation');
};

export function outboxPg(_q: Queryable): OutboxReads & OutboxWrites {
  return {
    due: refuse,
    list: refuse,
    get: refuse,
    nextDue: async () => null,
    counts: async () => ({ pending: 0, delivered: 0, failed: 0 }),
    enqueue: refuse,
    takeTurn: refuse,
    delivered: refuse,
    attemptFailed: refuse,
    replay: refuse,
    prune: async () => 0,
  };
}

export function quarantinePg(_q: Queryable): {
  keep(
    site: string,
    source: 'collect' | 'events',
    rows: Refusal[],
    now: number,
    policy: QuarantinePolicy,
    skipped: (site: string, n: number) => void,
  ): Promise<number>;
  list(site: string, limit?: number, before?: number): Promise<QuarantineRow[]>;
} {
  return { keep: refuse, list: refuse };
}

export const segmentCounts = (_q: Queryable, _site: string): Promise<SegmentCounts> => refuse();
export const countMembers = (_q: Queryable, _site: string, _a: Audience): Promise<number> =>
  refuse();
export const sitesWithProfiles = (_q: Queryable): Promise<string[]> => refuse();
export function members(_pool: pg.Pool, _site: string, _a: Audience): AsyncIterable<MemberRow> {
  return {
    [Symbol.asyncIterator]: () => ({ next: refuse }),
  };
}

export const eraseVisitor = (_q: Queryable, _site: string, _v: string): Promise<ErasureResult> =>
  refuse();
export const eraseContact = (
  _q: Queryable,
  _site: string,
  _c: string,
  _now: number,
): Promise<ErasureResult> => refuse();
export const claimAnonymousRows = (
  _q: Queryable,
  _site: string,
  _v: string,
  _c: string,
): Promise<void> => refuse();
export const pruneBatch = (
  _q: Queryable,
  _table: string,
  _columns: string[],
  _site: string,
  _cutoff: number,
  _limit: number,
): Promise<number> => refuse();

export function rfmPg(_pool: Queryable): {
  breakpoints(site: string): Promise<RfmBreakpoints | null>;
  recompute(
    q: Queryable,
    site: string,
    minCustomers: number,
    now: number,
  ): Promise<RfmBreakpoints | null>;
  clear(): void;
} {
  return { breakpoints: async () => null, recompute: refuse, clear() {} };
}

export async function pgHealth(pool: pg.Pool): Promise<DbHealth> {
  try {
    await pool.query('SELECT 1');
    return { ok: true };
  } catch (err) {
    return { ok: false, error: 'database_unavailable', message: (err as Error).message };
  }
}
