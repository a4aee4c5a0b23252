/**
 * The dashboard's aggregates on PostgreSQL, the port of sqlite/dashboard.ts: the same statements
 * on the same indexes (`events_age`, `segment_changes_at`, the `segment_sizes` primary key, the
 * partial customer index, `events_visitor` / `events_contact`). Counts come back as `int`, times
 * as JS numbers (bigint parsed as number by the pool), so both backends answer alike.
 */
import type { Props, Utm } from '../../../shared/wire.ts';
import type {
  DashboardReads,
  RfmCell,
  RfmThresholds,
  RollupRow,
  SegmentSizeRow,
  TimelineEvent,
} from '../contract.ts';
import type { Queryable } from './db.ts';

const TIMELINE_COLS =
  'id, type, ts, visitor, session, url, ref, category, value, currency, utm, props, bot';

interface EventRow extends Omit<TimelineEvent, 'utm' | 'props'> {
  utm: string | null;
  props: string | null;
}

/** `1 + #(breakpoints strictly below x)`: the engine's `scoreAbove`, in SQL ($n.. the four). */
const scoreSql = (col: string, n: number) =>
  `(1 + (${col} > $${n})::int + (${col} > $${n + 1})::int + (${col} > $${n + 2})::int + (${col} > $${n + 3})::int)`;

export function dashboardPg(q: Queryable): DashboardReads {
  return {
    async rollup(site, bucket, from, to) {
      const res = await q.query<RollupRow>(
        `SELECT start, metric, value FROM stats_rollup
          WHERE site = $1 AND bucket = $2 AND start >= $3 AND start < $4 ORDER BY start`,
        [site, bucket, from, to],
      );
      return res.rows;
    },
    async activity(site, from, to, bucket) {
      const res = await q.query<{ b: string; visitors: number; contacts: number; events: number }>(
        `SELECT (ts - $2) / $4 AS b, count(DISTINCT visitor)::int AS visitors,
                count(DISTINCT contact)::int AS contacts, count(*)::int AS events
           FROM events WHERE site = $1 AND ts >= $2 AND ts < $3 AND NOT bot
          GROUP BY b ORDER BY b`,
        [site, from, to, bucket],
      );
      return res.rows.map(({ b, ...r }) => ({ start: from + Number(b) * bucket, ...r }));
    },
    async segmentSizes(site, fromDay, toDay) {
      const res = await q.query<SegmentSizeRow>(
        `SELECT day, kind, name, members FROM segment_sizes
          WHERE site = $1 AND day >= $2 AND day <= $3 ORDER BY day, kind, name`,
        [site, fromDay, toDay],
      );
      return res.rows;
    },
    async lifecycleMoves(site, from, to, bucket) {
      const res = await q.query<{ b: string; f: string | null; t: string; n: number }>(
        `SELECT b, f, t, count(*)::int AS n FROM (
           SELECT (at - $2) / $4 AS b,
                  CASE WHEN previous IS NULL THEN NULL ELSE split_part(previous, ':', 1) END AS f,
                  split_part(name, ':', 1) AS t
             FROM segment_changes
            WHERE site = $1 AND at >= $2 AND at < $3 AND kind = 'key') AS c
          WHERE f IS NULL OR f <> t
          GROUP BY b, f, t ORDER BY b, f, t`,
        [site, from, to, bucket],
      );
      return res.rows.map((r) => ({
        start: from + Number(r.b) * bucket,
        from: r.f,
        to: r.t,
        n: r.n,
      }));
    },
    async rfmCells(site, recency, frequency) {
      const res = await q.query<RfmCell>(
        `SELECT ${scoreSql('last_purchase', 2)} AS r, ${scoreSql('purchases', 6)} AS f,
                count(*)::int AS n
           FROM profiles WHERE site = $1 AND purchases > 0
          GROUP BY 1, 2 ORDER BY 1, 2`,
        [site, ...recency, ...frequency],
      );
      return res.rows;
    },
    async timeline(site, who, limit, before) {
      const [col, id] = 'contact' in who ? ['contact', who.contact] : ['visitor', who.visitor];
      const cursor = before ? 'AND (ts, id) < ($3, $4)' : '';
      const args = before ? [site, id, before.ts, before.id, limit] : [site, id, limit];
      const res = await q.query<EventRow>(
        `SELECT ${TIMELINE_COLS} FROM events
          WHERE site = $1 AND ${col} = $2 ${cursor}
          ORDER BY ts DESC, id DESC LIMIT $${args.length}`,
        args,
      );
      return res.rows.map((r) => ({
        ...r,
        utm: r.utm === null ? null : (JSON.parse(r.utm) as Utm),
        props: r.props === null ? null : (JSON.parse(r.props) as Props),
      }));
    },
  };
}

/** Replaces the site's snapshot of the UTC day `day` by the sizes stored now; returns its rows. */
export async function snapshotSegmentSizes(
  q: Queryable,
  site: string,
  day: number,
  now: number,
  rfm?: RfmThresholds,
): Promise<number> {
  await q.query('DELETE FROM segment_sizes WHERE site = $1 AND day = $2', [site, day]);
  const keys = await q.query(
    `INSERT INTO segment_sizes (site, day, kind, name, members, taken)
     SELECT site, $2, 'key', segment, count(*), $3 FROM profiles WHERE site = $1 GROUP BY site, segment`,
    [site, day, now],
  );
  const custom = await q.query(
    `INSERT INTO segment_sizes (site, day, kind, name, members, taken)
     SELECT $1, $2, 'custom', j.name, count(*), $3
       FROM profiles, jsonb_array_elements_text(profiles.segments) AS j(name)
      WHERE profiles.site = $1 AND profiles.segments <> '[]'::jsonb GROUP BY j.name`,
    [site, day, now],
  );
  let n = (keys.rowCount ?? 0) + (custom.rowCount ?? 0);
  if (rfm) {
    const grid = await q.query(
      `INSERT INTO segment_sizes (site, day, kind, name, members, taken)
       SELECT $1, $2, 'rfm', r || ':' || f, n, $3 FROM (
         SELECT ${scoreSql('last_purchase', 4)} AS r, ${scoreSql('purchases', 8)} AS f, count(*)::int AS n
           FROM profiles WHERE site = $1 AND purchases > 0 GROUP BY 1, 2) AS g`,
      [site, day, now, ...rfm.recency, ...rfm.frequency],
    );
    n += grid.rowCount ?? 0;
  }
  return n;
}

/**
 * Rolls up the buckets of `bucket` ms in [from, to) into `stats_rollup` (see the SQLite twin): the
 * activity and the lifecycle moves from the same queries the live reads run, and a `rolled` mark
 * per bucket, in one statement each.
 */
export async function rollupStats(
  q: Queryable,
  site: string,
  bucket: number,
  from: number,
  to: number,
  now: number,
): Promise<void> {
  const reads = dashboardPg(q);
  await q.query(
    'DELETE FROM stats_rollup WHERE site = $1 AND bucket = $2 AND start >= $3 AND start < $4',
    [site, bucket, from, to],
  );
  const starts: number[] = [];
  const metrics: string[] = [];
  const values: number[] = [];
  const put = (start: number, metric: string, value: number) => {
    starts.push(start);
    metrics.push(metric);
    values.push(value);
  };
  for (const r of await reads.activity(site, from, to, bucket)) {
    put(r.start, 'events', r.events);
    put(r.start, 'visitors', r.visitors);
    put(r.start, 'contacts', r.contacts);
  }
  for (const m of await reads.lifecycleMoves(site, from, to, bucket))
    put(m.start, `move:${m.from ?? ''}>${m.to}`, m.n);
  for (let start = from; start < to; start += bucket) put(start, 'rolled', 1);
  await q.query(
    `INSERT INTO stats_rollup (site, bucket, start, metric, value, taken)
     SELECT $1, $2, s, m, v, $3 FROM unnest($4::bigint[], $5::text[], $6::int[]) AS u(s, m, v)`,
    [site, bucket, now, starts, metrics, values],
  );
}
