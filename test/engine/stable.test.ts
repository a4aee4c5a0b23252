/**
 * `stableUntil`: a segment kept until the boundary it names is the segment a fresh evaluation
 * gives, at every ms in between and exactly at each threshold (window edges, lifecycle, engagement,
 * cooldown, RFM recency, a rule's count span and `days.*` facts). Time travel over many profiles:
 * at each step a kept answer is compared with a fresh one.
 */
import { describe, expect, it } from 'vitest';
import {
  evaluate,
  shares,
  stableUntil,
  type EngineConfig,
  type EngineEvent,
  type Extras,
  type Profile,
  type RfmBreakpoints,
} from '../../collector/engine/index.ts';
import { decayRate } from '../../collector/engine/affinity.ts';
import { build, DAY, e, engine, HOUR, MIN, subject, T0, withRules } from './fixtures.ts';
import { prng } from '../reliability/fuzz.ts';

const RULES = withRules(
  {
    'recent-cameras': { count: { category: 'cameras', within: '36h' }, gte: 2 },
    'carted-lately': { count: { type: 'add_to_cart', within: '90m' }, gte: 1 },
    'fresh-buyer': { fact: 'days.sinceLastPurchase', lt: 2.5 },
    'old-friend': {
      all: [
        { fact: 'days.sinceFirstSeen', gte: 3 },
        { fact: 'days.sinceLastSeen', in: [1, 2, 4.25] },
      ],
    },
    'not-seen-lately': { not: { fact: 'days.sinceLastSeen', lte: 0.75 } },
  },
  // Short thresholds, so a few days of travel cross all of them.
  { newbieDays: 2, activeDays: 1, warmDays: 3, atRiskDays: 4, lapsedDays: 6, cooldownDays: 2 },
);
const PLAIN: EngineConfig = engine({ newbieDays: 2, activeDays: 1, warmDays: 3 });

const TYPES = ['page_view', 'page_view', 'click', 'add_to_cart', 'purchase'];
const CATS = ['cameras', 'lenses', 'books', null];

function randomProfile(rnd: () => number, config: EngineConfig): Profile {
  const n = 1 + Math.floor(rnd() * 12);
  const events: EngineEvent[] = [];
  let t = T0 - Math.floor(rnd() * 5 * DAY);
  for (let i = 0; i < n; i++) {
    t += Math.floor(rnd() * 20 * HOUR);
    const type = TYPES[Math.floor(rnd() * TYPES.length)]!;
    events.push(
      e({
        ts: t,
        type,
        category: CATS[Math.floor(rnd() * CATS.length)] ?? null,
        value: type === 'purchase' || type === 'add_to_cart' ? Math.round(rnd() * 1500) : null,
      }),
    );
  }
  return build(events, config);
}

/** Every ms where an answer may flip, ± 1, beside random times: where a late boundary would show. */
function probeTimes(p: Profile, config: EngineConfig, rnd: () => number, from: number): number[] {
  const marks = [p.firstSeen, p.lastSeen, p.purchases.last ?? 0, p.purchases.highEndAt ?? 0];
  const spans = [
    config.newbieDays,
    config.activeDays,
    config.warmDays,
    config.atRiskDays,
    config.lapsedDays,
    config.cooldownDays,
    config.hotDays,
    config.intentDays,
    ...config.rfm.recencyDays,
    1.5,
    90 / 1440,
    2.5,
    3,
    1,
    2,
    4.25,
    0.75,
  ].map((d) => d * DAY);
  const times = new Set<number>();
  for (const m of [...marks, ...p.window.map((w) => w[0])])
    for (const s of [0, ...spans])
      for (const d of [-1, 0, 1, 2]) if (m + s + d >= from) times.add(Math.floor(m + s + d));
  for (let i = 0; i < 60; i++) times.add(from + Math.floor(rnd() * 200 * DAY));
  return [...times].sort((a, b) => a - b);
}

/** Walks the clock forward, keeping each answer until its boundary as a cache would. */
function travel(p: Profile, config: EngineConfig, extras: Extras, rnd: () => number) {
  const start = T0 - 6 * DAY;
  let kept = evaluate(p, subject, config, start, extras);
  let until = stableUntil(p, config, start, extras);
  expect(until).toBeGreaterThan(start);
  for (const now of probeTimes(p, config, rnd, start)) {
    if (now >= until) {
      kept = evaluate(p, subject, config, now, extras);
      until = stableUntil(p, config, now, extras);
      expect(until).toBeGreaterThan(now);
    }
    expect(kept, `at ${now - T0} ms from T0`).toEqual(evaluate(p, subject, config, now, extras));
  }
}

describe('stableUntil', () => {
  it('keeps no answer past a change: window edges, thresholds and rules, over random profiles', () => {
    const rnd = prng(14);
    for (let i = 0; i < 40; i++) travel(randomProfile(rnd, RULES), RULES, {}, rnd);
    for (let i = 0; i < 20; i++) travel(randomProfile(rnd, PLAIN), PLAIN, {}, rnd);
  });

  it('follows RFM quintiles when the site has them', () => {
    const rnd = prng(5);
    const rfm: RfmBreakpoints = {
      lastPurchase: [T0 - 5 * DAY, T0 - 2 * DAY, T0 - 7 * HOUR + 1, T0 - HOUR],
      frequency: [1, 1, 2, 3],
      monetary: [10, 100, 500, 900],
      customers: 100,
      computed: T0,
    };
    for (let i = 0; i < 25; i++) travel(randomProfile(rnd, PLAIN), PLAIN, { rfm }, rnd);
  });

  it('names the exact ms a window entry leaves and a threshold passes', () => {
    const config = engine({ activeDays: 1 });
    const p = build([e({ ts: T0, category: 'cameras' })], config);
    // Seen at T0: active for exactly one day ("within 1 day" is strictly younger than a day).
    const until = stableUntil(p, config, T0 + HOUR, {});
    expect(until).toBeLessThanOrEqual(T0 + DAY);
    expect(evaluate(p, subject, config, T0 + DAY - 1, {}).engagement).toBe('active');
    expect(evaluate(p, subject, config, T0 + DAY, {}).engagement).toBe('warm');
    const rule = withRules({ twice: { count: { within: '30m' }, gte: 2 } });
    const q = build([e({ ts: T0 }), e({ ts: T0 + MIN })], rule);
    expect(evaluate(q, subject, rule, T0 + 30 * MIN - 1, {}).segments).toEqual(['twice']);
    expect(stableUntil(q, rule, T0 + 2 * MIN, {})).toBeLessThanOrEqual(T0 + 30 * MIN);
    expect(evaluate(q, subject, rule, T0 + 30 * MIN, {}).segments).toEqual([]);
  });

  it('affinity shares do not move with the clock', () => {
    const p = build(
      [
        e({ ts: T0, category: 'cameras' }),
        e({ ts: T0 + 3 * DAY, category: 'books' }),
        e({ ts: T0 + 9 * DAY, category: 'lenses', type: 'add_to_cart' }),
      ],
      PLAIN,
    );
    const lambda = decayRate(PLAIN);
    const at = shares(p.scores, T0 + 9 * DAY, lambda);
    for (const later of [1, 1_000, DAY, 300 * DAY, 3000 * DAY])
      expect(shares(p.scores, T0 + 9 * DAY + later, lambda)).toEqual(at);
  });
});
