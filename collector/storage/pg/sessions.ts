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
 * The range is written as row comparisons on `(visitor, ts)`, which only `events_visitor` (site,
 * visitor, ts) can serve: as `ts <= $t AND ts > $t - idle` the planner may take `events_age`
 * (site, ts) instead, and it does whenever its statistics do not know the last minutes' events
 * (they never do: each event is newer than the last ANALYZE), which reads every visitor's events
 * of the last half hour to find one visitor's (measured in the bench: 580 buffers a lookup
 * against 20). The same lookup is in microseg_ingest (drizzle-pg/0004_ingest_functions.sql),
 * SESSION_IDLE_MS written there as 1800000: a change of it here needs a migration replacing it.
 */
export function sessionSql(site: string, visitor: string, ts: string, id: string): string {
  return `COALESCE(
      (SELECT session FROM events WHERE site = ${site} AND visitor = ${visitor}
         AND (visitor, ts) <= (${visitor}, ${ts}) AND (visitor, ts) > (${visitor}, ${ts} - ${SESSION_IDLE_MS})
         AND session IS NOT NULL ORDER BY ts DESC LIMIT 1),
      (SELECT session FROM events WHERE site = ${site} AND visitor = ${visitor}
         AND (visitor, ts) > (${visitor}, ${ts}) AND (visitor, ts) < (${visitor}, ${ts} + ${SESSION_IDLE_MS})
         AND session IS NOT NULL ORDER BY ts ASC LIMIT 1),
      ${id})`;
}
