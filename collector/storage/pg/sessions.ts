/**
 * Session assignment at ingest on PostgreSQL: the same rule as sqlite/sessions.ts (read its
 * header), written as one SQL expression so that an event's insert finds its session in the same
 * round trip. An event's session is the session of the visitor's nearest stored event at or before
 * it when less than SESSION_IDLE_MS older, else of the nearest one after it when less than
 * SESSION_IDLE_MS newer, else its own id. Events are inserted one statement each (a batch's
 * further ones sent together in one message, profiles.ts insertMore), so a batch's events see
 * each other, as on SQLite; ingests of one profile hold its lock (profiles.ts), so two
 * batches of one visitor do not assign sessions at the same time.
 */
import { SESSION_IDLE_MS } from '../sqlite/sessions.ts';

export { SESSION_IDLE_MS };

/**
 * The session of an event, as SQL over the insert's parameters: `site`, `visitor`, `ts` (bigint)
 * and `id` are parameter references such as `$1`. The nearest event within the idle time on each
 * side is the nearest event, if it is within it at all: the range in the WHERE is the rule's test.
 */
export function sessionSql(site: string, visitor: string, ts: string, id: string): string {
  return `COALESCE(
      (SELECT session FROM events WHERE site = ${site} AND visitor = ${visitor} AND ts <= ${ts}
         AND ts > ${ts} - ${SESSION_IDLE_MS} AND session IS NOT NULL ORDER BY ts DESC LIMIT 1),
      (SELECT session FROM events WHERE site = ${site} AND visitor = ${visitor} AND ts > ${ts}
         AND ts < ${ts} + ${SESSION_IDLE_MS} AND session IS NOT NULL ORDER BY ts ASC LIMIT 1),
      ${id})`;
}
