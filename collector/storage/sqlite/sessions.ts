// Sessions are assigned at ingest, as Plausible and Umami do, so the browser snippet keeps no
// session state (every byte of it ships to every visitor). A session is a visitor's run of events
// with no gap of 30 minutes or more; its id is the id of the event that started it as stored.
import type { Database } from 'better-sqlite3';

/** An idle time this long starts a new session, as in common analytics tools. */
export const SESSION_IDLE_MS = 30 * 60_000;

/**
 * The session of a visitor's event at `ts`: the session of the visitor's nearest stored event at or
 * before it, when less than 30 minutes older; else of the nearest one after it, when less than 30
 * minutes newer (a retried event that arrives after later ones, e.g. from the snippet's retry
 * queue); else a new session named by the event's own id. Events are stored one by one in their
 * batch, so a batch's events see each other. A retried duplicate finds itself and changes nothing.
 * A late event that bridges two stored sessions joins the earlier one; stored rows are never
 * rewritten: no code of the collector reads sessions today; they are for analysis of the events
 * table, where such a pair reads as two visits.
 */
export function sessionAssigner(sqlite: Database) {
  const before = sqlite
    .prepare<[string, string, number], [session: string, ts: number]>(
      `SELECT session, ts FROM events WHERE site = ? AND visitor = ? AND ts <= ? AND session IS NOT NULL
       ORDER BY ts DESC LIMIT 1`,
    )
    .raw();
  const after = sqlite
    .prepare<[string, string, number], [session: string, ts: number]>(
      `SELECT session, ts FROM events WHERE site = ? AND visitor = ? AND ts > ? AND session IS NOT NULL
       ORDER BY ts ASC LIMIT 1`,
    )
    .raw();
  return (site: string, visitor: string, ts: number, id: string): string => {
    const prev = before.get(site, visitor, ts);
    if (prev && ts - prev[1] < SESSION_IDLE_MS) return prev[0];
    const next = after.get(site, visitor, ts);
    if (next && next[1] - ts < SESSION_IDLE_MS) return next[0];
    return id;
  };
}
