/** Queries of the quarantine table: refused events kept with their reason (storage module). */
import { and, desc, eq, lt } from 'drizzle-orm';
import { LIMITS } from '../shared/limits.ts';
import type { RefusedEvent } from '../shared/wire.ts';
import type { Db } from './db/open.ts';
import { quarantine } from './db/schema.ts';

export interface QuarantineRow {
  seq: number;
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
  return Buffer.from(text).subarray(0, max - 3).toString('utf8').replace(/\uFFFD$/, '') + '…';
}

/** JSON of `value` down to PAYLOAD_DEPTH levels, stopping soon after `budget` characters. */
function boundedJson(value: unknown, budget: number): string {
  let out = '';
  const write = (v: unknown, depth: number): void => {
    if (out.length > budget) return;
    if (v === null || typeof v === 'boolean') return void (out += String(v));
    if (typeof v === 'number') return void (out += Number.isFinite(v) ? String(v) : 'null');
    if (typeof v === 'string') return void (out += JSON.stringify(v.length > budget ? v.slice(0, budget) : v));
    if (typeof v !== 'object') return void (out += 'null');
    if (depth >= PAYLOAD_DEPTH) return void (out += '"…"');
    const array = Array.isArray(v);
    out += array ? '[' : '{';
    let first = true;
    for (const key of array ? v.keys() : Object.keys(v)) {
      if (out.length > budget) break;
      if (!first) out += ',';
      first = false;
      if (!array) out += JSON.stringify(key) + ':';
      write((v as Record<string | number, unknown>)[key], depth + 1);
    }
    out += array ? ']' : '}';
  };
  write(value, 0);
  return out;
}

export function quarantineStore(db: Db) {
  return {
    /** Keeps each refused event of a batch with its raw form. */
    keep(site: string, visitor: string | null, source: 'collect' | 'events', refused: RefusedEvent[], raw: unknown[], now: number) {
      if (refused.length === 0) return;
      db.insert(quarantine)
        .values(
          refused.map((r) => ({
            site,
            visitor,
            eventId: r.id ?? null,
            source,
            received: now,
            error: r.error,
            message: r.message,
            payload: capPayload(raw[r.index]),
          })),
        )
        .run();
    },
    /** The newest refused events of a site, newest first; `before` pages back by seq. */
    list(site: string, limit = 50, before?: number): QuarantineRow[] {
      const where = before ? and(eq(quarantine.site, site), lt(quarantine.seq, before)) : eq(quarantine.site, site);
      return db.select().from(quarantine).where(where).orderBy(desc(quarantine.seq)).limit(limit).all();
    },
  };
}
