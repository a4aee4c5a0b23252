/**
 * The Overview page: a site's audience over a chosen range, rendered from `siteStats`, the very
 * answer of `GET /v1/stats` (same range rules, `statsRange`). Every chart has a table of the same
 * figures beside it (keyboard and screen-reader users, and the tests, read those).
 */
import { Hono } from 'hono';
import type { Deps } from '../../http/app.ts';
import { type Lifecycle, LIFECYCLES } from '../../../shared/segment.ts';
import type { StatsResponse } from '../../../shared/stats.ts';
import { siteStats, statsRange } from '../../storage/stats.ts';
import { type ChartSpec, chartData } from '../chart.ts';
import type { DashEnv } from '../guard.ts';
import { errorPage, href, Layout, page, pageSite } from '../layout.tsx';
import { FigureTable } from '../table.tsx';
import { dayLabel, fmt, label, pct, RFM_LABELS, timeLabel } from '../format.ts';

/** The ranges offered: each a `statsRange` query (days by day, or hours by hour) ending now. */
export const RANGES = {
  '7d': { label: 'Last 7 days', bucket: 'day', ms: 7 * 86_400_000 },
  '30d': { label: 'Last 30 days', bucket: 'day', ms: 30 * 86_400_000 },
  '90d': { label: 'Last 90 days', bucket: 'day', ms: 90 * 86_400_000 },
  '48h': { label: 'Last 48 hours', bucket: 'hour', ms: 48 * 3_600_000 },
} as const;
export type RangeKey = keyof typeof RANGES;

/** Series drawn on the size chart (the table lists them all). */
const CHART_SERIES = 8;

function Activity({ stats }: { stats: StatsResponse }) {
  const x = stats.activity.map((b) => b.start / 1000);
  const per = stats.bucket === 'day' ? 'day' : 'hour';
  const people: ChartSpec = {
    kind: 'line',
    x,
    series: [
      { label: 'Visitors', values: stats.activity.map((b) => b.visitors) },
      { label: 'Known contacts', values: stats.activity.map((b) => b.contacts) },
    ],
  };
  const events: ChartSpec = {
    kind: 'bars',
    x,
    series: [{ label: 'Events', values: stats.activity.map((b) => b.events) }],
  };
  const when = stats.bucket === 'day' ? dayLabel : timeLabel;
  return (
    <section class="card" aria-labelledby="activity-h">
      <h2 id="activity-h">Activity per {per}</h2>
      <h3>Visitors and known contacts</h3>
      <div class="chart" data-chart={chartData(people)} />
      <h3>Events</h3>
      <div class="chart" data-chart={chartData(events)} />
      <details>
        <summary>Activity as a table</summary>
        <FigureTable
          id="activity"
          caption={<>Activity per {per} (UTC)</>}
          cols={[
            per === 'day' ? 'Day' : 'Hour',
            { label: 'Visitors', num: true },
            { label: 'Known contacts', num: true },
            { label: 'Events', num: true },
          ]}
        >
          {stats.activity.map((b) => (
            <tr data-start={b.start}>
              <th scope="row">{when(b.start)}</th>
              <td class="num">{fmt(b.visitors)}</td>
              <td class="num">{fmt(b.contacts)}</td>
              <td class="num">{fmt(b.events)}</td>
            </tr>
          ))}
        </FigureTable>
      </details>
    </section>
  );
}

function Sizes({ stats }: { stats: StatsResponse }) {
  const { days, series } = stats.segments;
  const last = (s: (number | null)[]) => [...s].reverse().find((v) => v !== null) ?? null;
  const first = (s: (number | null)[]) => s.find((v) => v !== null) ?? null;
  const ranked = [...series].sort(
    (a, b) => (last(b.members) ?? 0) - (last(a.members) ?? 0) || a.name.localeCompare(b.name),
  );
  const chart: ChartSpec = {
    kind: 'line',
    x: days.map((d) => d / 1000),
    series: ranked.slice(0, CHART_SERIES).map((s) => ({ label: s.name, values: s.members })),
  };
  return (
    <section class="card" aria-labelledby="sizes-h">
      <h2 id="sizes-h">Segment sizes over time</h2>
      {series.length === 0 ? (
        <p>No segment has members yet.</p>
      ) : (
        <>
          <p class="note">
            The {Math.min(CHART_SERIES, ranked.length)} largest segments; members at each day's end.
          </p>
          <div class="chart" data-chart={chartData(chart)} />
          <FigureTable
            id="sizes"
            caption="Members per segment, first and last day of the range"
            cols={[
              'Segment',
              { label: days[0] !== undefined ? dayLabel(days[0]) : 'First day', num: true },
              {
                label: days.at(-1) !== undefined ? dayLabel(days.at(-1) ?? 0) : 'Last day',
                num: true,
              },
            ]}
          >
            {ranked.map((s) => (
              <tr data-segment={s.name}>
                <th scope="row">
                  <code>{s.name}</code>
                </th>

                <td class="num">{fmt(first(s.members))}</td>
                <td class="num">{fmt(last(s.members))}</td>
              </tr>
            ))}
          </FigureTable>
        </>
      )}
    </section>
  );
}

function Lifecycles({ stats }: { stats: StatsResponse }) {
  // The flow summed over the range: how many moved from each stage to each other.
  const moves = new Map<string, { from: Lifecycle | null; to: Lifecycle; count: number }>();
  for (const f of stats.lifecycle.flow) {
    const k = `${f.from}>${f.to}`;
    const m = moves.get(k) ?? { from: f.from, to: f.to, count: 0 };
    m.count += f.count;
    moves.set(k, m);
  }
  const rows = [...moves.values()].sort((a, b) => b.count - a.count);
  const total = LIFECYCLES.reduce((n, l) => n + stats.lifecycle.now[l], 0);
  return (
    <section class="card" aria-labelledby="lifecycle-h">
      <h2 id="lifecycle-h">Lifecycle</h2>
      <FigureTable
        id="lifecycle-now"
        caption="Profiles per stage now"
        cols={['Stage', { label: 'Profiles', num: true }, { label: 'Share', num: true }]}
      >
        {LIFECYCLES.map((l) => (
          <tr data-stage={l}>
            <th scope="row">{label(l)}</th>
            <td class="num">{fmt(stats.lifecycle.now[l])}</td>
            <td class="num">{pct(stats.lifecycle.now[l], total)}</td>
          </tr>
        ))}
      </FigureTable>
      <h3>Moves between stages in the range</h3>
      {rows.length === 0 ? (
        <p>No profile changed stage in this range.</p>
      ) : (
        <FigureTable
          id="lifecycle-flow"
          caption="Profiles that moved from one stage to another"
          cols={['From', 'To', { label: 'Profiles', num: true }]}
        >
          {rows.map((m) => (
            <tr data-from={m.from ?? 'new'} data-to={m.to}>
              <td>{m.from === null ? 'new visitor' : label(m.from)}</td>
              <td>{label(m.to)}</td>
              <td class="num">{fmt(m.count)}</td>
            </tr>
          ))}
        </FigureTable>
      )}
    </section>
  );
}

function Categories({ stats }: { stats: StatsResponse }) {
  const total = stats.categories.reduce((n, c) => n + c.profiles, 0);
  return (
    <section class="card" aria-labelledby="categories-h">
      <h2 id="categories-h">Category affinity</h2>
      <p class="note">Profiles by their dominant category (mixed: none has half the interest).</p>
      <FigureTable
        id="categories"
        caption="Profiles per dominant category"
        cols={['Category', { label: 'Profiles', num: true }, { label: 'Share', num: true }]}
      >
        {stats.categories.map((c) => (
          <tr data-category={c.category}>
            <th scope="row">{c.category}</th>
            <td class="num">{fmt(c.profiles)}</td>
            <td class="num">
              <progress max={total || 1} value={c.profiles} aria-hidden="true" />{' '}
              {pct(c.profiles, total)}
            </td>
          </tr>
        ))}
      </FigureTable>
    </section>
  );
}

function RfmGrid({ stats }: { stats: StatsResponse }) {
  const { rfm } = stats;
  const cell = (r: number, f: number) => rfm.cells.find((c) => c.r === r && c.f === f);
  return (
    <section class="card" aria-labelledby="rfm-h">
      <h2 id="rfm-h">RFM grid</h2>
      <p class="note">
        {fmt(rfm.customers)} customers, scored by{' '}
        {rfm.scoring === 'quintiles' ? "the site's quintiles" : "the config's fixed thresholds"}.
        Rows: recency (5 = most recent); columns: frequency (5 = most orders).
      </p>
      <section class="table-wrap" tabindex={0} aria-labelledby="rfm-cap">
        <table class="rfm" id="rfm">
          <caption id="rfm-cap">Customers per recency × frequency cell</caption>
          <thead>
            <tr>
              <td />
              {[1, 2, 3, 4, 5].map((f) => (
                <th scope="col">F{f}</th>
              ))}
            </tr>
          </thead>
          <tbody>
            {[5, 4, 3, 2, 1].map((r) => (
              <tr>
                <th scope="row">R{r}</th>
                {[1, 2, 3, 4, 5].map((f) => {
                  const c = cell(r, f);
                  return (
                    <td class={`rfm-${c?.label ?? 'none'}`} data-r={r} data-f={f}>
                      <span class="count">{fmt(c?.customers ?? 0)}</span>
                      <span class="lbl">{c ? RFM_LABELS[c.label] : ''}</span>
                    </td>
                  );
                })}
              </tr>
            ))}
          </tbody>
        </table>
      </section>
    </section>
  );
}

function EngagementMix({ stats }: { stats: StatsResponse }) {
  const levels = ['hot', 'active', 'warm', 'cold'] as const;
  const total = levels.reduce((n, l) => n + stats.engagement[l], 0);
  return (
    <section class="card" aria-labelledby="engagement-h">
      <h2 id="engagement-h">Engagement mix</h2>
      <FigureTable
        id="engagement"
        caption="Profiles per engagement level now"
        cols={['Level', { label: 'Profiles', num: true }, { label: 'Share', num: true }]}
      >
        {levels.map((l) => (
          <tr data-level={l}>
            <th scope="row">{label(l)}</th>
            <td class="num">{fmt(stats.engagement[l])}</td>
            <td class="num">
              <progress max={total || 1} value={stats.engagement[l]} aria-hidden="true" />{' '}
              {pct(stats.engagement[l], total)}
            </td>
          </tr>
        ))}
      </FigureTable>
    </section>
  );
}

export function overviewPage(deps: Deps) {
  const app = new Hono<DashEnv>();
  app.get('/dashboard/', async (c) => {
    const { site, refused } = pageSite(c, deps);
    if (refused) return refused;
    const key = (c.req.query('range') ?? '30d') as RangeKey;
    const session = c.var.session;
    if (!(key in RANGES))
      return errorPage(
        c,
        400,
        'Unknown range',
        `The range is one of ${Object.keys(RANGES).join(', ')}.`,
        site.id,
      );
    const choice = RANGES[key];
    const now = deps.now();
    const range = statsRange({ bucket: choice.bucket, from: now - choice.ms, to: now }, now);
    if (!range.ok) return errorPage(c, 400, 'Bad range', range.message, site.id);
    const stats = await siteStats(deps.storage, site, range.value, now);
    const events = stats.activity.reduce((n, b) => n + b.events, 0);
    const profiles = LIFECYCLES.reduce((n, l) => n + stats.lifecycle.now[l], 0);
    return page(
      c,
      <Layout
        title="Overview"
        session={session}
        site={site.id}
        active="overview"
        keep={{ range: key }}
      >
        <form class="range" method="get" action="/dashboard/">
          <input type="hidden" name="site" value={site.id} />
          <label for="range">Range</label>
          <select id="range" name="range">
            {Object.entries(RANGES).map(([k, r]) => (
              <option value={k} selected={k === key}>
                {r.label}
              </option>
            ))}
          </select>
          <button type="submit">Show</button>
          <span
            class="note"
            id="range-shown"
            data-from={stats.from}
            data-to={stats.to}
            data-bucket={stats.bucket}
          >
            {dayLabel(stats.from)} – {dayLabel(stats.to - 1)} (UTC)
          </span>
        </form>
        <ul class="figures">
          <li>
            <span class="value" id="fig-events">
              {fmt(events)}
            </span>
            <span class="label">events in the range</span>
          </li>
          <li>
            <span class="value" id="fig-profiles">
              {fmt(profiles)}
            </span>
            <span class="label">profiles now</span>
          </li>
          <li>
            <span class="value" id="fig-customers">
              {fmt(stats.rfm.customers)}
            </span>
            <span class="label">customers (RFM)</span>
          </li>
          <li>
            <span class="value" id="fig-segments">
              {fmt(stats.segments.series.length)}
            </span>
            <span class="label">
              <a href={href('/dashboard/segments', site.id)}>segments</a> in the range
            </span>
          </li>
        </ul>
        <div class="grid">
          <Activity stats={stats} />
          <Sizes stats={stats} />
          <Lifecycles stats={stats} />
          <RfmGrid stats={stats} />
          <Categories stats={stats} />
          <EngagementMix stats={stats} />
        </div>
      </Layout>,
    );
  });
  return app;
}
