/**
 * The answers of `GET /v1/stats` and `GET /v1/visitors/:id`, assembled from the storage contract's
 * bounded reads (`storage.dashboard`, segment counts, the read path). Backend-neutral: both
 * backends answer the same figures. No HTTP here.
 *
 * Cost of a stats answer, whatever the range: the range's rolled-up buckets (`stats_rollup`, a
 * primary-key range: a few rows per bucket) and, for the buckets not rolled up yet (the open one),
 * a range scan of their `events` and `segment_changes` by time; `segment_sizes` rows of the
 * range's days (daily snapshots, not a replay of the history), today's included: its latest
 * snapshot gives the sizes and the RFM grid now. Only before the job's first snapshot of the day
 * are they counted from the profiles (a group-by of the site's profiles by key, as
 * `GET /v1/segments`, and one of its customers).
 */
import {
  type Engagement,
  ENGAGEMENTS,
  type Lifecycle,
  LIFECYCLES,
  parseSegmentKey,
} from '../../shared/segment.ts';
import { LIMITS } from '../../shared/limits.ts';
import type {
  ActivityBucket,
  LifecycleFlow,
  RfmGridCell,
  SegmentSeries,
  StatsBucket,
  StatsResponse,
  VisitorResponse,
} from '../../shared/stats.ts';
import type { SiteConfig } from '../config/config.ts';
import { DAY } from '../engine/config.ts';
import { emptyProfile, rfmLabel } from '../engine/index.ts';
import { recencyTimes } from '../engine/rfm.ts';
import { windowCounts } from '../engine/explain.ts';
import { segmentOf } from '../identity/identify.ts';
import { failure, type Result, success } from '../result.ts';
import type { RfmCell, RfmThresholds, SegmentCounts, SegmentSizeRow, Storage } from './contract.ts';

const HOUR = 3_600_000;
export const BUCKET_MS: Record<StatsBucket, number> = { day: DAY, hour: HOUR };

export interface StatsRange {
  from: number;
  to: number;
  bucket: StatsBucket;
}

/**
 * The range asked for, aligned to whole UTC buckets (`from` down, `to` up), checked against
 * LIMITS.statsDays / statsHours. Default: the last 30 days (day buckets) or 48 hours (hour).
 */
export function statsRange(
  q: { from?: number | undefined; to?: number | undefined; bucket: StatsBucket },
  now: number,
): Result<StatsRange> {
  const ms = BUCKET_MS[q.bucket];
  const to = q.to ?? now;
  const from = q.from ?? to - (q.bucket === 'day' ? 30 * DAY : 48 * HOUR);
  if (!(to > from)) return failure('invalid_range', 'from must be before to');
  const start = from - (from % ms);
  const end = to % ms === 0 ? to : to - (to % ms) + ms;
  const max = q.bucket === 'day' ? LIMITS.statsDays : LIMITS.statsHours;
  if ((end - start) / ms > max)
    return failure(
      'invalid_range',
      `a range of ${q.bucket} buckets spans at most ${max} ${q.bucket}s`,
    );
  return success({ from: start, to: end, bucket: q.bucket });
}

const lifecycleZero = () =>
  Object.fromEntries(LIFECYCLES.map((l) => [l, 0])) as Record<Lifecycle, number>;

/** Profiles per lifecycle stage in a set of key counts. */
function byLifecycle(keys: Record<string, number>): Record<Lifecycle, number> {
  const out = lifecycleZero();
  for (const [key, n] of Object.entries(keys)) {
    const l = parseSegmentKey(key).lifecycle as Lifecycle;
    if (l in out) out[l] += n;
  }
  return out;
}

/** What the site's RFM grid is scored with at `now`: its quintiles, else the config's fixed thresholds. */
export async function rfmThresholds(
  storage: Pick<Storage, 'rfmBreakpoints'>,
  site: SiteConfig,
  now: number,
): Promise<RfmThresholds & { quintiles: boolean }> {
  const bp = await storage.rfmBreakpoints(site.id);
  return {
    recency: bp?.lastPurchase ?? recencyTimes(site.engine.rfm.recencyDays, now),
    frequency: bp?.frequency ?? site.engine.rfm.frequency,
    quintiles: bp !== null,
  };
}

export async function siteStats(
  storage: Storage,
  site: SiteConfig,
  range: StatsRange,
  now: number,
): Promise<StatsResponse> {
  const ms = BUCKET_MS[range.bucket];
  const firstDay = range.from - (range.from % DAY);
  const lastDay = range.to - 1 - ((range.to - 1) % DAY);
  const today = now - (now % DAY);
  const rfm = await rfmThresholds(storage, site, now);
  const [rolled, sizeRows] = await Promise.all([
    storage.dashboard.rollup(site.id, ms, range.from, range.to),
    storage.dashboard.segmentSizes(site.id, firstDay, Math.max(firstDay, Math.min(lastDay, today))),
  ]);
  // Today's sizes and grid: the job's latest snapshot (at most its 10 minutes old), else counted
  // now (the job has not run today: a fresh start).
  const snapped =
    today >= firstDay && today <= lastDay
      ? sizeRows.filter((r) => r.day === today)
      : await storage.dashboard.segmentSizes(site.id, today, today);
  const snappedGrid = gridOf(snapped);
  // No grid rows: no customers (the live count is then an empty index range), or a snapshot
  // written before the grid was.
  const [live, cells] = await Promise.all([
    snapped.length > 0 ? countsOf(snapped) : storage.segmentCounts(site.id),
    snappedGrid.length > 0
      ? snappedGrid
      : storage.dashboard.rfmCells(site.id, rfm.recency, rfm.frequency),
  ]);
  // Rolled-up buckets from the rollup; the others (the open bucket, mostly) from the rows.
  const marked = new Set(rolled.filter((r) => r.metric === 'rolled').map((r) => r.start));
  let liveFrom = range.from;
  while (liveFrom < range.to && marked.has(liveFrom)) liveFrom += ms;
  const [liveActivity, liveMoves] =
    liveFrom < range.to
      ? await Promise.all([
          storage.dashboard.activity(site.id, liveFrom, range.to, ms),
          storage.dashboard.lifecycleMoves(site.id, liveFrom, range.to, ms),
        ])
      : [[], []];
  const fromRollup = (start: number) => start < liveFrom;
  const activityRows = liveActivity.slice();
  const moves = liveMoves.slice();
  const rolledActivity = new Map<number, { visitors: number; contacts: number; events: number }>();
  for (const r of rolled) {
    if (!fromRollup(r.start)) continue;
    if (r.metric.startsWith('move:')) {
      const [f = '', t = ''] = r.metric.slice(5).split('>');
      moves.push({ start: r.start, from: f === '' ? null : f, to: t, n: r.value });
    } else if (r.metric === 'events' || r.metric === 'visitors' || r.metric === 'contacts') {
      const a = rolledActivity.get(r.start) ?? { visitors: 0, contacts: 0, events: 0 };
      a[r.metric] = r.value;
      rolledActivity.set(r.start, a);
    }
  }
  for (const [start, a] of rolledActivity) activityRows.push({ start, ...a });
  moves.sort(
    (a, b) =>
      a.start - b.start || (a.from ?? '').localeCompare(b.from ?? '') || a.to.localeCompare(b.to),
  );

  const activity: ActivityBucket[] = [];
  const byStart = new Map(activityRows.map((r) => [r.start, r]));
  for (let t = range.from; t < range.to; t += ms)
    activity.push(byStart.get(t) ?? { start: t, visitors: 0, contacts: 0, events: 0 });

  // Per day: the snapshot's counts, today's counted now, a day to come or not snapshotted null.
  const days: number[] = [];
  for (let d = firstDay; d <= lastDay; d += DAY) days.push(d);
  const perDay = new Map<number, SegmentCounts>();
  for (const r of sizeRows) {
    if (r.kind === 'rfm') continue;
    const c = perDay.get(r.day) ?? { keys: {}, custom: {} };
    perDay.set(r.day, c);
    (r.kind === 'key' ? c.keys : c.custom)[r.name] = r.members;
  }
  if (today >= firstDay && today <= lastDay) perDay.set(today, live);
  const names = new Map<string, SegmentSeries>();
  days.forEach((d, i) => {
    const c = perDay.get(d);
    if (!c) return;
    for (const kind of ['key', 'custom'] as const) {
      for (const [name, n] of Object.entries(kind === 'key' ? c.keys : c.custom)) {
        const id = `${kind}\u0000${name}`;
        const s = names.get(id) ?? { name, kind, members: days.map(() => null) };
        names.set(id, s);
        s.members[i] = n;
      }
    }
  });
  // A segment absent from a snapshot that has rows had no members that day.
  for (const s of names.values())
    days.forEach((d, i) => {
      if (s.members[i] === null && perDay.has(d)) s.members[i] = 0;
    });
  const last = (s: SegmentSeries) => s.members.findLast((n) => n !== null) ?? 0;
  const series = [...names.values()].sort(
    (a, b) => last(b) - last(a) || a.kind.localeCompare(b.kind) || a.name.localeCompare(b.name),
  );

  const categories = new Map<string, number>();
  const engagement = Object.fromEntries(ENGAGEMENTS.map((e) => [e, 0])) as Record<
    Engagement,
    number
  >;
  for (const [key, n] of Object.entries(live.keys)) {
    const p = parseSegmentKey(key);
    const category = p.category ?? 'none';
    categories.set(category, (categories.get(category) ?? 0) + n);
    if (p.engagement in engagement) engagement[p.engagement as Engagement] += n;
  }

  const counted = new Map(cells.map((c) => [`${c.r}:${c.f}`, c.n]));
  const grid: RfmGridCell[] = [];
  for (let r = 5; r >= 1; r--)
    for (let f = 1; f <= 5; f++)
      grid.push({ r, f, label: rfmLabel(r, f), customers: counted.get(`${r}:${f}`) ?? 0 });

  return {
    site: site.id,
    from: range.from,
    to: range.to,
    bucket: range.bucket,
    activity,
    segments: { days, series },
    lifecycle: {
      now: byLifecycle(live.keys),
      days: days.map((d) => {
        const c = perDay.get(d);
        return c ? byLifecycle(c.keys) : null;
      }),
      flow: moves.map((m) => ({
        start: m.start,
        from: m.from as Lifecycle | null,
        to: m.to as Lifecycle,
        count: m.n,
      })) satisfies LifecycleFlow[],
    },
    categories: [...categories]
      .map(([category, profiles]) => ({ category, profiles }))
      .sort((a, b) => b.profiles - a.profiles || a.category.localeCompare(b.category)),
    engagement,
    rfm: {
      scoring: rfm.quintiles ? 'quintiles' : 'fixed',
      customers: grid.reduce((a, c) => a + c.customers, 0),
      cells: grid,
    },
  };
}

/** Key and custom segment counts of a snapshot's rows. */
function countsOf(rows: SegmentSizeRow[]): SegmentCounts {
  const c: SegmentCounts = { keys: {}, custom: {} };
  for (const r of rows)
    if (r.kind === 'key') c.keys[r.name] = r.members;
    else if (r.kind === 'custom') c.custom[r.name] = r.members;
  return c;
}

/** The RFM cells of a snapshot's rows (`r:f`). */
function gridOf(rows: SegmentSizeRow[]): RfmCell[] {
  return rows
    .filter((r) => r.kind === 'rfm')
    .map((r) => {
      const [rs = '0', fs = '0'] = r.name.split(':');
      return { r: Number(rs), f: Number(fs), n: r.members };
    });
}

export interface VisitorPaging {
  limit: number;
  before?: { ts: number; id: string } | undefined;
  historyLimit: number;
  after?: number | undefined;
}

/**
 * One visitor as the person view shows it, or null when the site has nothing of this id (no
 * profile, no event). A visitor linked to a contact reads as the contact: its profile, traits,
 * history, and the events of all its devices.
 */
export async function visitorView(
  storage: Storage,
  site: SiteConfig,
  visitor: string,
  now: number,
  paging: VisitorPaging,
): Promise<VisitorResponse | null> {
  const inputs = await storage.segmentInputs(site.id, visitor, now);
  const { key, contact } = inputs;
  const who = contact === null ? { visitor } : { contact };
  const [segment, meta, events, history] = await Promise.all([
    segmentOf(storage, site, { visitor }, now),
    storage.identity.meta(site.id, key),
    storage.dashboard.timeline(site.id, who, paging.limit, paging.before),
    storage.segmentHistory(site.id, key, { after: paging.after, limit: paging.historyLimit }),
  ]);
  const profile = inputs.stored?.profile;
  if (!profile && events.length === 0 && paging.before === undefined) return null;
  const p = profile ?? { ...emptyProfile(now), lastSeen: 0 };
  const lastEvent = events.at(-1);
  return {
    site: site.id,
    visitor,
    contact,
    profile: key,
    segment,
    why: {
      lifecycle: segment.lifecycle,
      engagement: segment.engagement,
      affinity: segment.affinity,
      rfm: segment.rfm,
      rules: segment.segments,
      windows: windowCounts(p, site.engine, now),
      firstSeen: p.firstSeen,
      lastSeen: p.lastSeen,
      events: p.count,
      purchases: {
        count: p.purchases.n,
        total: p.purchases.total,
        first: p.purchases.first,
        last: p.purchases.last,
      },
    },
    traits: inputs.traits ?? {},
    campaign: { first: meta?.first ?? null, last: meta?.last ?? null },
    events: {
      items: events,
      next: events.length === paging.limit && lastEvent ? `${lastEvent.ts}.${lastEvent.id}` : null,
    },
    history: {
      items: history.map((h) => ({
        seq: h.seq,
        at: h.at,
        kind: h.kind,
        name: h.name,
        previous: h.previous,
        event: h.event,
      })),
      next: history.length === paging.historyLimit ? (history.at(-1)?.seq ?? null) : null,
    },
  };
}
