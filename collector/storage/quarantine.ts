/** Queries of the quarantine table: refused events kept with their reason (storage module). */
import { and, desc, eq, lt } from 'drizzle-orm';
import { LIMITS } from '../../shared/limits.ts';
import type { RefusedEvent } from '../../shared/wire.ts';
import type { Db } from './db/open.ts';
import { quarantine } from './db/schema.ts';
import { contactOfKey } from '../identity/token.ts';
import { DAY } from '../engine/config.ts';

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

/** Levels of a refused event written out in quarantine; deeper values are kept as "…". */
const PAYLOAD_DEPTH = 8;

/**
 * The raw event as JSON, cut to the cap (a cut payload ends with "…"). Written by hand, with a
 * depth and a size bound, because the event can be any shape a client sent: JSON.stringify (and
 * String() of an array) recurse once per level and throw a RangeError on a 12,000-deep array,
 * which turned a refusal into a 500 and lost the batch's valid events.
 */
export function capPayload(raw: unknown): string {
  const max = LIMITS.quarantinePayloadBytes;
  const text = boundedJson(raw, max);
  if (Buffer.byteLength(text) <= max) return text;
  return `${Buffer.from(text)
    .subarray(0, max - 3)
    .toString('utf8')
    .replace(/\uFFFD$/, '')}…`;
}

/** The JSON of a value written whole (a scalar, or a stand-in past the depth), or undefined. */
function leafJson(v: unknown, depth: number, budget: number): string | undefined {
  if (v === null || typeof v === 'boolean') return String(v);
  if (typeof v === 'number') return Number.isFinite(v) ? String(v) : 'null';
  if (typeof v === 'string') return JSON.stringify(v.length > budget ? v.slice(0, budget) : v);
  if (typeof v !== 'object') return 'null';
  if (depth >= PAYLOAD_DEPTH) return '"…"';
  return undefined;
}

/** JSON of `value` down to PAYLOAD_DEPTH levels, stopping soon after `budget` characters. */
function boundedJson(value: unknown, budget: number): string {
  let out = '';
  const write = (v: unknown, depth: number): void => {
    if (out.length > budget) return;
    const leaf = leafJson(v, depth, budget);
    if (leaf !== undefined) {
      out += leaf;
      return;
    }
    // Only objects and arrays are left (leafJson answers for everything else).
    if (typeof v !== 'object' || v === null) return;
    const array = Array.isArray(v);
    out += array ? '[' : '{';
    let first = true;
    for (const key of array ? v.keys() : Object.keys(v)) {
      if (out.length > budget) break;
      if (!first) out += ',';
      first = false;
      if (!array) out += `${JSON.stringify(key)}:`;
      write((v as Record<string | number, unknown>)[key], depth + 1);
    }
    out += array ? ']' : '}';
  };
  write(value, 0);
  return out;
}

/** How much of a site's refused traffic is kept (site config `quarantine`, docs/operations.md). */
export interface QuarantinePolicy {
  /** Rows kept per site and UTC day; refusals beyond it are only counted. */
  rowsPerDay: number;
  /** Days a row is kept (a site's shorter `retentionDays` wins). */
  keepDays: number;
}

export const DEFAULT_QUARANTINE: QuarantinePolicy = { rowsPerDay: 1000, keepDays: 30 };

/** One refused event to keep: whose (the sender's visitor id, if any), why, and as sent. */
export interface Refusal {
  visitor: string | null;
  refused: RefusedEvent;
  raw: unknown;
}

export function quarantineStore(db: Db) {
  const sqlite = db.$client;
  const countSince = sqlite
    .prepare<[string, number], number>(
      'SELECT count(*) FROM quarantine WHERE site = ? AND received >= ?',
    )
    .pluck();
  /**
   * Rows written today per site, and the seq of the last one: read from the table at a site's
   * first write of a UTC day, and again whenever that last row is gone. The count is advanced
   * inside a write job, which may still roll back (a full disk answers 503 and stores nothing,
   * a group fails whole): a counter that kept those rows would fill the day's cap with refusals
   * that were never kept. Their last row being absent is how a rollback (or an erasure) shows.
   */
  const today = new Map<string, { day: number; rows: number; last: number | null }>();
  const hasRow = sqlite
    .prepare<[number, string], number>('SELECT 1 FROM quarantine WHERE seq = ? AND site = ?')
    .pluck();
  const linkOf = sqlite
    .prepare<[string, string, number], string>(
      'SELECT contact FROM links WHERE site = ? AND visitor = ? AND expires > ?',
    )
    .pluck();
  /** Whose row it is, as on events: a `c:<contact>` id's contact, or the one the visitor is linked to now. */
  const ownerOf = (site: string, visitor: string | null, now: number) =>
    visitor === null ? null : (contactOfKey(visitor) ?? linkOf.get(site, visitor, now) ?? null);
  const skippedListeners: ((site: string, n: number) => void)[] = [];

  return {
    /**
     * Keeps refused events of one request for one site, at most `LIMITS.quarantinePerRequest`
     * and the site's `rowsPerDay` a day: a refusal costs a row of up to 2 KiB, so without a bound
     * a few bytes of hostile batch wrote a hundred rows. Returns how many were not kept (counted
     * in `microseg_quarantine_skipped_total`).
     */
    keep(
      site: string,
      source: 'collect' | 'events',
      rows: Refusal[],
      now: number,
      policy: QuarantinePolicy,
    ): number {
      if (rows.length === 0) return 0;
      const day = Math.floor(now / DAY);
      let count = today.get(site);
      if (
        !count ||
        count.day !== day ||
        (count.last !== null && hasRow.get(count.last, site) === undefined)
      ) {
        count = { day, rows: countSince.get(site, day * DAY) ?? 0, last: null };
        today.set(site, count);
      }
      const room = Math.max(
        0,
        Math.min(LIMITS.quarantinePerRequest, policy.rowsPerDay - count.rows),
      );
      const kept = rows.slice(0, room);
      if (kept.length > 0) {
        const res = db
          .insert(quarantine)
          .values(
            kept.map((r) => ({
              site,
              visitor: r.visitor,
              eventId: r.refused.id ?? null,
              source,
              received: now,
              error: r.refused.error,
              message: r.refused.message,
              payload: capPayload(r.raw),
              contact: ownerOf(site, r.visitor, now),
            })),
          )
          .run();
        count.rows += kept.length;
        count.last = Number(res.lastInsertRowid);
      }
      const skipped = rows.length - kept.length;
      if (skipped > 0) for (const l of skippedListeners) l(site, skipped);
      return skipped;
    },
    /** Called with the refusals of each request that were counted but not kept. */
    onSkipped(listener: (site: string, n: number) => void) {
      skippedListeners.push(listener);
    },
    /** The newest refused events of a site, newest first; `before` pages back by seq. */
    list(site: string, limit = 50, before?: number): QuarantineRow[] {
      const where = before
        ? and(eq(quarantine.site, site), lt(quarantine.seq, before))
        : eq(quarantine.site, site);
      return db
        .select()
        .from(quarantine)
        .where(where)
        .orderBy(desc(quarantine.seq))
        .limit(limit)
        .all();
    },
  };
}
