/**
 * Features at a cut-off read nothing at or after it: over random histories, appending future
 * events (any type: purchases, discount clicks, the goal itself) never changes a feature, while
 * the same events moved before the cut-off do change some (the check can see a change). And the
 * label is the goal's event in [cut-off, cut-off + horizon).
 */
import { describe, expect, it } from 'vitest';
import {
  type FeatureEvent,
  featureNames,
  featuresAt,
  labelAt,
  type Vocabulary,
} from '../../collector/goals/features.ts';
import type { Goal } from '../../collector/goals/goal.ts';
import { intentAt } from '../../collector/goals/heuristic.ts';
import { DEFAULT_ENGINE } from '../../collector/engine/index.ts';
import { ev, rng } from './synthetic.ts';

const DAY = 86_400_000;
const CUT = Date.UTC(2026, 3, 1);
const GOAL: Goal = { event: 'purchase', category: 'cameras', within: '7d' };
const VOCAB: Vocabulary = {
  categories: ['cameras', 'shoes', 'books'],
  traits: [{ name: 'region', values: ['NY', 'MD'] }],
};
const TYPES = ['page_view', 'click', 'add_to_cart', 'begin_checkout', 'purchase', 'email_click'];
const CATS = ['cameras', 'shoes', 'books', 'garden', null];

function randomEvent(r: () => number, ts: number): FeatureEvent {
  const type = TYPES[Math.floor(r() * TYPES.length)] ?? 'page_view';
  return {
    ts,
    type,
    category: CATS[Math.floor(r() * CATS.length)] ?? null,
    value: type === 'purchase' ? Math.round(r() * 500) : null,
    props: r() < 0.2 ? { discount: true } : null,
    utm: r() < 0.3 ? { campaign: r() < 0.5 ? 'spring-sale' : 'news' } : null,
  };
}

describe('features at a cut-off', () => {
  it('never read an event at or after the cut-off (random histories)', () => {
    const r = rng(20);
    let changedWhenPast = 0;
    for (let run = 0; run < 300; run++) {
      const n = 1 + Math.floor(r() * 30);
      const past = Array.from({ length: n }, () =>
        randomEvent(r, CUT - 1 - Math.floor(r() * 200 * DAY)),
      );
      // Future events, the cut-off's own instant included.
      const future = Array.from({ length: 1 + Math.floor(r() * 20) }, (_, i) =>
        randomEvent(r, i === 0 ? CUT : CUT + Math.floor(r() * 60 * DAY)),
      );
      const traits = { region: r() < 0.5 ? 'NY' : 'CA' };
      const without = featuresAt(past, CUT, GOAL, VOCAB, traits);
      const mixed = [...future, ...past].sort(() => r() - 0.5);
      const withFuture = featuresAt(mixed, CUT, GOAL, VOCAB, traits);
      expect(withFuture).toEqual(without);
      expect(without).toHaveLength(featureNames(VOCAB).length);
      // The same events just before the cut-off: the check is not blind.
      const moved = future.map((e) => ({ ...e, ts: CUT - 1 - (e.ts - CUT) / 100 }));
      const asPast = featuresAt([...past, ...moved], CUT, GOAL, VOCAB, traits);
      if (JSON.stringify(asPast) !== JSON.stringify(without)) changedWhenPast++;
    }
    expect(changedWhenPast).toBeGreaterThan(290);
  });

  it('is null for a visitor not seen before the cut-off', () => {
    expect(featuresAt([randomEvent(rng(1), CUT)], CUT, GOAL, VOCAB, undefined)).toBeNull();
  });

  it('reads recency, counts, discount response and traits as named', () => {
    const e = ev;
    const events: FeatureEvent[] = [
      e(CUT - 3 * DAY, 'email_click', null, { utm: { campaign: 'camera-discount' } }),
      e(CUT - 2 * DAY, 'page_view', 'cameras'),
      e(CUT - 2 * DAY + 1, 'page_view', 'cameras'),
      e(CUT - 1 * DAY, 'page_view', 'cameras'),
    ];
    const x = featuresAt(events, CUT, GOAL, VOCAB, { region: 'MD' });
    const named = Object.fromEntries(featureNames(VOCAB).map((n, i) => [n, x?.[i]]));
    expect(named.recency_days).toBeCloseTo(Math.log1p(1));
    expect(named.events_7d).toBeCloseTo(Math.log1p(4));
    expect(named.discount_response).toBe(1);
    expect(named['hot_7d.cameras']).toBe(1);
    expect(named['discount_hot.cameras']).toBe(1);
    expect(named['discount_hot.shoes']).toBe(0);
    expect(named['engagement.hot']).toBe(1);
    expect(named['lifecycle.newbie']).toBe(1);
    expect(named['affinity.cameras']).toBe(1);
    expect(named['trait.region.MD']).toBe(1);
    expect(named['trait.region.other']).toBe(0);
  });
});

describe('the label', () => {
  const buy = (ts: number, category = 'cameras'): FeatureEvent => ({
    ts,
    type: 'purchase',
    category,
    value: 100,
    props: null,
    utm: null,
  });
  it('is the goal event in [cut-off, cut-off + horizon)', () => {
    expect(labelAt([buy(CUT)], CUT, 7 * DAY, GOAL)).toBe(true);
    expect(labelAt([buy(CUT + 7 * DAY - 1)], CUT, 7 * DAY, GOAL)).toBe(true);
    expect(labelAt([buy(CUT + 7 * DAY)], CUT, 7 * DAY, GOAL)).toBe(false);
    expect(labelAt([buy(CUT - 1)], CUT, 7 * DAY, GOAL)).toBe(false);
    expect(labelAt([buy(CUT, 'shoes')], CUT, 7 * DAY, GOAL)).toBe(false);
  });
});

describe('the intent heuristic at a cut-off', () => {
  const ev = (ts: number, type: string): FeatureEvent => ({
    ts,
    type,
    category: 'cameras',
    value: null,
    props: null,
    utm: null,
  });
  it("is the engine's intent of the events before the cut-off", () => {
    const cart = [ev(CUT - 2 * DAY, 'page_view'), ev(CUT - DAY, 'add_to_cart')];
    expect(intentAt(cart, CUT, DEFAULT_ENGINE)).toBe('most_likely');
    // The cart after the cut-off is not seen; a visitor with nothing before it has no intent.
    expect(intentAt([cart[0] as FeatureEvent, ev(CUT, 'add_to_cart')], CUT, DEFAULT_ENGINE)).toBe(
      'least_likely',
    );
    expect(intentAt([ev(CUT + 1, 'page_view')], CUT, DEFAULT_ENGINE)).toBeNull();
  });
});
