import { describe, expect, it } from 'vitest';
import { evaluate, type EngineEvent } from '../../collector/engine/index.ts';
import { build, DAY, e, engine, MIN, subject, T0 } from './fixtures.ts';

const cfg = engine();
const buy = (ts: number, value = 100) => e({ ts, type: 'purchase', value, category: 'cameras' });
const view = (ts: number) => e({ ts, category: 'cameras' });
const at = (events: EngineEvent[], now: number) => evaluate(build(events), subject, cfg, now);

describe('lifecycle: forward and back', () => {
  // Each row: history, read time, expected stage. Rows come in pairs across each boundary.
  it.each([
    ['newbie: first seen just now', [view(T0)], T0, 'newbie'],
    ['newbie: 1 ms before 30 days', [view(T0)], T0 + 30 * DAY - 1, 'newbie'],
    ['newbie → prospect at exactly 30 days', [view(T0)], T0 + 30 * DAY, 'prospect'],
    [
      'prospect stays prospect when visiting again',
      [view(T0), view(T0 + 40 * DAY)],
      T0 + 40 * DAY,
      'prospect',
    ],
    [
      'newbie → new_customer on a first purchase',
      [view(T0), buy(T0 + DAY)],
      T0 + DAY,
      'new_customer',
    ],
    [
      'prospect → new_customer on a first purchase',
      [view(T0), buy(T0 + 40 * DAY)],
      T0 + 40 * DAY,
      'new_customer',
    ],
    [
      'new_customer → loyalist on a repeat purchase',
      [buy(T0), buy(T0 + 10 * DAY)],
      T0 + 10 * DAY,
      'loyalist',
    ],
    [
      'loyalist: unseen 60 days − 1 ms',
      [buy(T0), buy(T0 + DAY)],
      T0 + DAY + 60 * DAY - 1,
      'loyalist',
    ],
    [
      'loyalist → at_risk at exactly 60 days unseen',
      [buy(T0), buy(T0 + DAY)],
      T0 + DAY + 60 * DAY,
      'at_risk',
    ],
    ['new_customer → at_risk at 60 days unseen', [buy(T0)], T0 + 60 * DAY, 'at_risk'],
    ['at_risk: 180 days − 1 ms', [buy(T0)], T0 + 180 * DAY - 1, 'at_risk'],
    ['at_risk → lapsed at exactly 180 days unseen', [buy(T0)], T0 + 180 * DAY, 'lapsed'],
    [
      'at_risk → loyalist again: a repeat buyer comes back',
      [buy(T0), buy(T0 + DAY), view(T0 + 100 * DAY)],
      T0 + 100 * DAY,
      'loyalist',
    ],
    [
      'at_risk → new_customer again: a one-time buyer comes back',
      [buy(T0), view(T0 + 100 * DAY)],
      T0 + 100 * DAY,
      'new_customer',
    ],
    [
      'lapsed → loyalist again on a visit',
      [buy(T0), buy(T0 + DAY), view(T0 + 400 * DAY)],
      T0 + 400 * DAY,
      'loyalist',
    ],
    [
      'lapsed → loyalist on a new purchase',
      [buy(T0), buy(T0 + 400 * DAY)],
      T0 + 400 * DAY,
      'loyalist',
    ],
  ] as [string, EngineEvent[], number, string][])('%s', (_n, events, now, stage) => {
    expect(at(events, now).lifecycle).toBe(stage);
  });

  it('the thresholds are per-site config', () => {
    const quick = engine({ newbieDays: 1, atRiskDays: 2, lapsedDays: 3 });
    expect(evaluate(build([view(T0)]), subject, quick, T0 + DAY).lifecycle).toBe('prospect');
    expect(evaluate(build([buy(T0)]), subject, quick, T0 + 2 * DAY).lifecycle).toBe('at_risk');
    expect(evaluate(build([buy(T0)]), subject, quick, T0 + 3 * DAY).lifecycle).toBe('lapsed');
  });
});

describe('engagement', () => {
  it.each([
    [
      '3 in the top category within 7 days → hot',
      [view(T0), view(T0 + 1), view(T0 + 2)],
      T0 + 2,
      'hot',
    ],
    ['2 → active', [view(T0), view(T0 + 1)], T0 + 1, 'active'],
    ['active until 7 days − 1 ms', [view(T0)], T0 + 7 * DAY - 1, 'active'],
    ['warm at exactly 7 days', [view(T0)], T0 + 7 * DAY, 'warm'],
    ['warm until 30 days − 1 ms', [view(T0)], T0 + 30 * DAY - 1, 'warm'],
    ['cold at 30 days', [view(T0)], T0 + 30 * DAY, 'cold'],
    [
      '3 uncategorized events are not hot',
      [e({ ts: T0 }), e({ ts: T0 }), e({ ts: T0 })],
      T0,
      'active',
    ],
  ] as [string, EngineEvent[], number, string][])('%s', (_n, events, now, engagement) => {
    expect(at(events, now).engagement).toBe(engagement);
  });
});

describe('purchases and cooldown', () => {
  it('counts purchases, total, first, last and last value (out of order too)', () => {
    const p = build([buy(T0 + DAY, 50), buy(T0, 20), buy(T0 + 2 * DAY, 30)]);
    expect(p.purchases).toEqual({
      n: 3,
      total: 100,
      first: T0,
      last: T0 + 2 * DAY,
      lastValue: 30,
      highEndAt: null,
    });
  });

  it.each([
    ['a purchase below the high-end threshold', 999.99, T0, false],
    ['at the threshold, at once', 1000, T0, true],
    ['89 days later', 1000, T0 + 89 * DAY, true],
    ['90 days − 1 minute later', 1000, T0 + 90 * DAY - MIN, true],
    ['exactly 90 days later: over', 1000, T0 + 90 * DAY, false],
  ])('%s (value %d) → cooldown %s', (_n, value, now, cooldown) => {
    expect(at([buy(T0, value)], now).cooldown).toBe(cooldown);
  });

  it('no high-end threshold, no cooldown; the period is config', () => {
    const none = engine({ highEndValue: null });
    expect(evaluate(build([buy(T0, 1e9)], none), subject, none, T0).cooldown).toBe(false);
    expect(
      evaluate(build([buy(T0, 1000)]), subject, engine({ cooldownDays: 10 }), T0 + 10 * DAY)
        .cooldown,
    ).toBe(false);
  });

  it('the updated field is the last event time', () => {
    expect(at([view(T0), view(T0 + 5)], T0 + DAY).updated).toBe(T0 + 5);
  });
});

describe('intent', () => {
  const cart = (ts: number) => e({ ts, type: 'add_to_cart', category: 'cameras' });
  it.each([
    [
      'a cart without purchase since → most_likely',
      [view(T0), cart(T0 + 1)],
      T0 + DAY,
      'most_likely',
    ],
    [
      'a checkout 7 days − 1 ms ago → most_likely',
      [e({ ts: T0, type: 'begin_checkout' })],
      T0 + 7 * DAY - 1,
      'most_likely',
    ],
    ['the cart is 7 days old → no longer', [cart(T0)], T0 + 7 * DAY, 'least_likely'],
    [
      'bought after the cart → not most_likely',
      [cart(T0), buy(T0 + 1)],
      T0 + 2,
      'moderately_likely',
    ],
    [
      'hot newbie → moderately_likely',
      [view(T0), view(T0 + 1), view(T0 + 2)],
      T0 + 2,
      'moderately_likely',
    ],
    [
      'hot loyalist → most_likely',
      [buy(T0 - 20 * DAY), buy(T0 - 10 * DAY), view(T0), view(T0 + 1), view(T0 + 2)],
      T0 + 2,
      'most_likely',
    ],
    [
      'active customer → moderately_likely',
      [buy(T0 - 10 * DAY), view(T0)],
      T0,
      'moderately_likely',
    ],
    ['active newbie → least_likely', [view(T0)], T0, 'least_likely'],
    ['warm customer → least_likely', [buy(T0)], T0 + 10 * DAY, 'least_likely'],
    [
      'cooldown beats a cart → least_likely',
      [buy(T0, 5000), cart(T0 + DAY)],
      T0 + DAY,
      'least_likely',
    ],
  ] as [string, EngineEvent[], number, string][])('%s', (_n, events, now, intent) => {
    expect(at(events, now).intent).toBe(intent);
  });
});
