/**
 * The conditions the seeds' recipes need (issue 18): `sequence` (a cart with no purchase within
 * N hours, viewed X but not Y since) and `between`, at their window edges to the millisecond.
 */
import { describe, expect, it } from 'vitest';
import { ConfigError, parseConfig } from '../../collector/config/config.ts';
import { evaluate, type EngineEvent } from '../../collector/engine/index.ts';
import { stableUntil } from '../../collector/engine/stable.ts';
import { build, DAY, e, HOUR, subject, T0, withRules } from './fixtures.ts';

const member = (rule: unknown, events: EngineEvent[], now: number, traits?: object) => {
  const cfg = withRules({ r: rule });
  return (
    evaluate(build(events, cfg), subject, cfg, now, {
      traits: traits as Record<string, unknown> | undefined,
    }).segments.length === 1
  );
};

const cartAbandoned = {
  sequence: {
    did: { type: 'add_to_cart', within: '7d' },
    without: { type: 'purchase' },
    for: '24h',
  },
};
const cart = (ts = T0) => e({ ts, type: 'add_to_cart', category: 'cameras', value: 300 });
const buy = (ts: number) => e({ ts, type: 'purchase', category: 'cameras', value: 300 });

describe('sequence: cart abandoned (no purchase within 24 h of a cart)', () => {
  it.each([
    ['a cart 23h59m59.999s old is not abandoned yet', [cart()], T0 + 24 * HOUR - 1, false],
    ['a cart exactly 24 h old is abandoned', [cart()], T0 + 24 * HOUR, true],
    ['a purchase 1 h after the cart', [cart(), buy(T0 + HOUR)], T0 + 2 * DAY, false],
    ['a purchase in the same millisecond', [cart(), buy(T0)], T0 + 2 * DAY, false],
    [
      'a purchase 23h59m59.999s after still saves it',
      [cart(), buy(T0 + 24 * HOUR - 1)],
      T0 + 2 * DAY,
      false,
    ],
    [
      'a purchase exactly 24 h after is too late: abandoned then',
      [cart(), buy(T0 + 24 * HOUR)],
      T0 + 2 * DAY,
      true,
    ],
    ['a purchase before the cart does not save it', [buy(T0 - HOUR), cart()], T0 + DAY, true],
    ['6d23h59m59.999s after the cart: still in the window', [cart()], T0 + 7 * DAY - 1, true],
    ['exactly 7 days after: the cart has left the window', [cart()], T0 + 7 * DAY, false],
    [
      'one of two carts bought, the other abandoned',
      [cart(), buy(T0 + HOUR), cart(T0 + 2 * DAY)],
      T0 + 3 * DAY,
      true,
    ],
    ['no cart at all', [e({ ts: T0 })], T0 + 2 * DAY, false],
  ] as [string, EngineEvent[], number, boolean][])('%s → %s', (_n, events, now, expected) => {
    expect(member(cartAbandoned, events, now)).toBe(expected);
  });

  it('a read is promised stable only until the wait ends (the memo never outlives it)', () => {
    const cfg = withRules({ r: cartAbandoned });
    const p = build([cart()], cfg);
    expect(stableUntil(p, cfg, T0 + HOUR)).toBeLessThanOrEqual(T0 + 24 * HOUR);
  });
});

describe('sequence: viewed cameras but bought none since (no "for")', () => {
  const rule = {
    sequence: {
      did: { type: 'page_view', category: 'cameras', within: '14d' },
      without: { type: 'purchase', category: 'cameras' },
    },
  };
  const view = (ts = T0) => e({ ts, category: 'cameras' });
  it.each([
    ['a view, nothing since', [view()], T0 + 1, true],
    ['a view at once', [view()], T0, true],
    ['a camera purchase after', [view(), buy(T0 + DAY)], T0 + 2 * DAY, false],
    [
      'a purchase of another category does not count',
      [view(), e({ ts: T0 + DAY, type: 'purchase', category: 'tv', value: 5 })],
      T0 + 2 * DAY,
      true,
    ],
    [
      'a view again after the purchase',
      [view(), buy(T0 + DAY), view(T0 + 2 * DAY)],
      T0 + 3 * DAY,
      true,
    ],
    ['a view 13d23h59m59.999s ago', [view()], T0 + 14 * DAY - 1, true],
    ['a view exactly 14 days ago has left', [view()], T0 + 14 * DAY, false],
  ] as [string, EngineEvent[], number, boolean][])('%s → %s', (_n, events, now, expected) => {
    expect(member(rule, events, now)).toBe(expected);
  });
});

describe('between (inclusive) on traits and facts', () => {
  const age = { fact: 'trait.age', between: [25, 50] };
  it.each([
    [24.999, false],
    [25, true],
    [37, true],
    [50, true],
    [50.001, false],
  ])('age %s → %s', (a, expected) => {
    expect(member(age, [e({ ts: T0 })], T0, { age: a })).toBe(expected);
  });
  it('a missing or non-number trait matches nothing', () => {
    expect(member(age, [e({ ts: T0 })], T0, {})).toBe(false);
    expect(member(age, [e({ ts: T0 })], T0, { age: '30' })).toBe(false);
  });
  it('on a count: 2 to 3 camera views within 7 days', () => {
    const rule = { count: { category: 'cameras', within: '7d' }, between: [2, 3] };
    const v = (n: number) =>
      Array.from({ length: n }, (_, i) => e({ ts: T0 + i, category: 'cameras' }));
    expect([1, 2, 3, 4].map((n) => member(rule, v(n), T0 + DAY))).toEqual([
      false,
      true,
      true,
      false,
    ]);
  });
});

describe('validation of the new conditions, with paths', () => {
  const problems = (rule: unknown) => {
    try {
      parseConfig({ sites: { s: { rules: { r: { when: rule } } } } });
      return '';
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      return (err as Error).message;
    }
  };
  it.each([
    [{ fact: 'trait.age', between: [50, 25] }, 'r.when.between: between takes [low, high]'],
    [{ fact: 'trait.age', between: [25] }, 'r.when.between: between takes two numbers'],
    [{ fact: 'trait.age', between: [25, 'x'] }, 'r.when.between.1:'],
    [{ fact: 'lifecycle', between: [1, 2] }, 'r.when.between.0: between needs a number'],
    [
      { sequence: { did: { type: 'add_to_cart' }, without: { type: 'purchase' } } },
      'r.when.sequence.did.within:',
    ],
    [{ sequence: { did: { type: 'x', within: '7d' } } }, 'r.when.sequence.without:'],
    [
      { sequence: { did: { type: 'x', within: '7d' }, without: { type: 'y', within: '1d' } } },
      'r.when.sequence.without.within: unknown key',
    ],
    [
      { sequence: { did: { type: 'x', within: '1d' }, without: { type: 'y' }, for: '2d' } },
      'r.when.sequence.for: shorter than did.within',
    ],
    [
      { sequence: { did: { type: 'x', within: '7d' }, without: { type: 'y' }, for: 'soon' } },
      'r.when.sequence.for: a duration',
    ],
    [
      { sequence: { did: { type: 'x', within: '7d' }, without: { type: 'y' } }, eq: 1 },
      'r.when.eq: unknown key',
    ],
  ])('%j → %s', (rule, message) => {
    expect(problems(rule)).toContain(message);
  });
});
