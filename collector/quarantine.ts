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

/** The raw event as JSON, cut to the cap (a cut payload ends with "…"). */
export function capPayload(raw: unknown): string {
  let text: string;
  try {
    text = JSON.stringify(raw) ?? String(raw);
  } catch {
    text = String(raw);
  }
  const max = LIMITS.quarantinePayloadBytes;
  if (Buffer.byteLength(text) <= max) return text;
  return Buffer.from(text).subarray(0, max - 3).toString('utf8').replace(/\uFFFD$/, '') + '…';
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
