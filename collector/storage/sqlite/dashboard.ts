/**
 * The dashboard's aggregates on SQLite (contract.ts `DashboardReads`) and the daily segment size
 * snapshot. Each read is one statement on an index range (EXPLAIN in test/storage/dashboard.test.ts):
 * activity on `events_age (site, ts)`, lifecycle moves on `segment_changes_at (site, at)`, sizes
 * on the primary key of `segment_sizes`, RFM cells on the partial customer index, a timeline on
 * `events_visitor (site, visitor, ts)` or `events_contact`.
 */
import type Database from 'better-sqlite3';
import type { Props, Utm } from '../../../shared/wire.ts';
import type {
  ActivityRow,
  DashboardReads,
  LifecycleMove,
  RfmCell,
  RfmThresholds,
  RollupRow,
  SegmentSizeRow,
  TimelineEvent,
} from '../contract.ts';

interface EventRow extends Omit<TimelineEvent, 'utm' | 'props' | 'bot'> {
  utm: string | null;
  props: string | null;
  bot: number;
}

const TIMELINE_COLS =
  'id, type, ts, visitor, session, url, ref, category, value, currency, utm, props, bot';

/**
 * A contact's timeline page. `INDEXED BY events_contact`: without statistics SQLite's planner
 * walks `events_age` backwards for the ORDER BY … LIMIT and filters on the contact, which reads
 * the site's whole history for a contact whose events are old (1.7 s at 1.17M events, measured
 * by `npm run bench -- --only dashboard`); the contact's own rows, sorted, are a few hundred at most.
 */
export const TIMELINE_BY_CONTACT = `SELECT ${TIMELINE_COLS} FROM events INDEXED BY events_contact
      WHERE site = ? AND contact = ? AND contact IS NOT NULL AND (ts < ? OR (ts = ? AND id < ?))
      ORDER BY ts DESC, id DESC LIMIT ?`;

export function timelineRow(r: EventRow): TimelineEvent {
  return {
    ...r,
    utm: r.utm === null ? null : (JSON.parse(r.utm) as Utm),
    props: r.props === null ? null : (JSON.parse(r.props) as Props),
    bot: Boolean(r.bot),
  };
}

/** `1 + #(breakpoints strictly below x)`: the engine's `scoreAbove`, in SQL. */
const scoreSql = (col: string, p: string) =>
  `(1 + (${col} > @${p}0) + (${col} > @${p}1) + (${col} > @${p}2) + (${col} > @${p}3))`;

/** The grid's thresholds as the named parameters of `scoreSql` (`@r0`… `@f3`). */
function thresholdArgs(t: RfmThresholds): Record<string, number> {
  const args: Record<string, number> = {};
  t.recency.forEach((v, i) => {
    args[`r${i}`] = v;
  });
  t.frequency.forEach((v, i) => {
    args[`f${i}`] = v;
  });
  return args;
}

export function dashboardStore(sqlite: Database.Database): DashboardReads & {
  snapshot(site: string, day: number, now: number, rfm?: RfmThresholds): number;
  rollupStats(site: string, bucket: number, from: number, to: number, now: number): void;
} {
  const activity = sqlite.prepare<
    { site: string; from: number; to: number; bucket: number },
    { b: number; visitors: number; contacts: number; events: number }
  >(
    `SELECT CAST((ts - @from) / @bucket AS INTEGER) AS b, count(DISTINCT visitor) AS visitors,
            count(DISTINCT contact) AS contacts, count(*) AS events
       FROM events WHERE site = @site AND ts >= @from AND ts < @to AND bot = 0
      GROUP BY b ORDER BY b`,
  );
  const sizes = sqlite.prepare<[string, number, number], SegmentSizeRow>(
    `SELECT day, kind, name, members FROM segment_sizes
      WHERE site = ? AND day >= ? AND day <= ? ORDER BY day, kind, name`,
  );
  const moves = sqlite.prepare<
    { site: string; from: number; to: number; bucket: number },
    { b: number; f: string | null; t: string; n: number }
  >(
    `SELECT b, f, t, count(*) AS n FROM (
       SELECT CAST((at - @from) / @bucket AS INTEGER) AS b,
              CASE WHEN previous IS NULL THEN NULL
                   ELSE substr(previous, 1, instr(previous, ':') - 1) END AS f,
              substr(name, 1, instr(name, ':') - 1) AS t
         FROM segment_changes
        WHERE site = @site AND at >= @from AND at < @to AND kind = 'key')
      WHERE f IS NULL OR f <> t
      GROUP BY b, f, t ORDER BY b, f, t`,
  );
  const snapRfm = sqlite.prepare<Record<string, number | string>>(
    `INSERT INTO segment_sizes (site, day, kind, name, members, taken)
     SELECT @site, @day, 'rfm', r || ':' || f, n, @now FROM (
       SELECT ${scoreSql('last_purchase', 'r')} AS r, ${scoreSql('purchases', 'f')} AS f, count(*) AS n
         FROM profiles WHERE site = @site AND purchases > 0 GROUP BY r, f)`,
  );
  const cells = sqlite.prepare<Record<string, number | string>, RfmCell>(
    `SELECT ${scoreSql('last_purchase', 'r')} AS r, ${scoreSql('purchases', 'f')} AS f, count(*) AS n
       FROM profiles WHERE site = @site AND purchases > 0
      GROUP BY r, f ORDER BY r, f`,
  );
  const byVisitor = sqlite.prepare<[string, string, number, number, string, number], EventRow>(
    `SELECT ${TIMELINE_COLS} FROM events
      WHERE site = ? AND visitor = ? AND (ts < ? OR (ts = ? AND id < ?))
      ORDER BY ts DESC, id DESC LIMIT ?`,
  );
  const byContact = sqlite.prepare<[string, string, number, number, string, number], EventRow>(
    TIMELINE_BY_CONTACT,
  );
  const clearDay = sqlite.prepare<[string, number]>(
    'DELETE FROM segment_sizes WHERE site = ? AND day = ?',
  );
  const snapKeys = sqlite.prepare<{ site: string; day: number; now: number }>(
    `INSERT INTO segment_sizes (site, day, kind, name, members, taken)
     SELECT site, @day, 'key', segment, count(*), @now FROM profiles WHERE site = @site
      GROUP BY segment`,
  );
  const snapCustom = sqlite.prepare<{ site: string; day: number; now: number }>(
    `INSERT INTO segment_sizes (site, day, kind, name, members, taken)
     SELECT @site, @day, 'custom', j.value, count(*), @now
       FROM profiles, json_each(profiles.segments) AS j
      WHERE profiles.site = @site AND profiles.segments != '[]' GROUP BY j.value`,
  );

  const rollup = sqlite.prepare<[string, number, number, number], RollupRow>(
    `SELECT start, metric, value FROM stats_rollup
      WHERE site = ? AND bucket = ? AND start >= ? AND start < ? ORDER BY start`,
  );
  const clearRollup = sqlite.prepare<[string, number, number, number]>(
    'DELETE FROM stats_rollup WHERE site = ? AND bucket = ? AND start >= ? AND start < ?',
  );
  const putRollup = sqlite.prepare<[string, number, number, string, number, number]>(
    'INSERT INTO stats_rollup (site, bucket, start, metric, value, taken) VALUES (?, ?, ?, ?, ?, ?)',
  );

  const store = {
    async rollup(site: string, bucket: number, from: number, to: number) {
      return rollup.all(site, bucket, from, to);
    },
    async activity(site: string, from: number, to: number, bucket: number): Promise<ActivityRow[]> {
      return activity
        .all({ site, from, to, bucket })
        .map(({ b, ...r }) => ({ start: from + b * bucket, ...r }));
    },
    async segmentSizes(site: string, fromDay: number, toDay: number) {
      return sizes.all(site, fromDay, toDay);
    },
    async lifecycleMoves(
      site: string,
      from: number,
      to: number,
      bucket: number,
    ): Promise<LifecycleMove[]> {
      return moves
        .all({ site, from, to, bucket })
        .map((r) => ({ start: from + r.b * bucket, from: r.f, to: r.t, n: r.n }));
    },
    async rfmCells(site: string, recency: readonly number[], frequency: readonly number[]) {
      return cells.all({ site, ...thresholdArgs({ recency, frequency }) });
    },
    async timeline(
      site: string,
      who: { visitor: string } | { contact: string },
      limit: number,
      before?: { ts: number; id: string },
    ) {
      const ts = before?.ts ?? Number.MAX_SAFE_INTEGER;
      const id = before?.id ?? '';
      const rows =
        'contact' in who
          ? byContact.all(site, who.contact, ts, ts, id, limit)
          : byVisitor.all(site, who.visitor, ts, ts, id, limit);
      return rows.map(timelineRow);
    },
    snapshot(site: string, day: number, now: number, rfm?: RfmThresholds) {
      clearDay.run(site, day);
      const args = { site, day, now };
      let n = snapKeys.run(args).changes + snapCustom.run(args).changes;
      if (rfm) n += snapRfm.run({ ...args, ...thresholdArgs(rfm) }).changes;
      return n;
    },
    /** Synchronous: the write queue runs it inside its transaction. */
    rollupStats(site: string, bucket: number, from: number, to: number, now: number) {
      clearRollup.run(site, bucket, from, to);
      for (const r of activity.all({ site, from, to, bucket })) {
        const start = from + r.b * bucket;
        putRollup.run(site, bucket, start, 'events', r.events, now);
        putRollup.run(site, bucket, start, 'visitors', r.visitors, now);
        putRollup.run(site, bucket, start, 'contacts', r.contacts, now);
      }
      for (const r of moves.all({ site, from, to, bucket }))
        putRollup.run(site, bucket, from + r.b * bucket, `move:${r.f ?? ''}>${r.t}`, r.n, now);
      for (let start = from; start < to; start += bucket)
        putRollup.run(site, bucket, start, 'rolled', 1, now);
    },
  };
  return store;
}
