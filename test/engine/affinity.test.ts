import { describe, expect, it } from 'vitest';
import {
  addWeight,
  boundScores,
  decayRate,
  decayTo,
  shares,
} from '../../collector/engine/affinity.ts';
import { evaluate } from '../../collector/engine/index.ts';
import { build, DAY, e, engine, HOUR, subject, T0 } from './fixtures.ts';
import type { Score } from '../../collector/engine/profile.ts';

const cfg = engine();
const lambda = decayRate(cfg);

describe('affinity decay', () => {
  it('λ is ln 2 over the half-life', () => {
    expect(lambda).toBeCloseTo(Math.LN2 / (14 * DAY), 20);
  });

  // Closed form: S(t) = Σ wᵢ · 2^(−(t − tᵢ)/half-life).
  it.each([
    ['one view, read at once', [[0, 1]], 0, 1],
    ['one view, one half-life later', [[0, 1]], 14 * DAY, 0.5],
    ['one view, two half-lives later', [[0, 1]], 28 * DAY, 0.25],
    [
      'purchase then view a week later, read two weeks on',
      [
        [0, 10],
        [7 * DAY, 1],
      ],
      21 * DAY,
      10 * 2 ** -1.5 + 2 ** -1,
    ],
    [
      'three views an hour apart',
      [
        [0, 1],
        [HOUR, 1],
        [2 * HOUR, 1],
      ],
      2 * HOUR,
      1 + 2 ** (-1 / 336) + 2 ** (-2 / 336),
    ],
  ] as [string, [number, number][], number, number][])('%s', (_name, obs, at, expected) => {
    let score: Score | undefined;
    for (const [t, w] of obs) score = addWeight(score, w, T0 + t, lambda);
    expect(decayTo(score!, T0 + at, lambda)).toBeCloseTo(expected, 12);
  });

  it('a late (out-of-order) event gives the same score as in order', () => {
    const inOrder = addWeight(addWeight(undefined, 1, T0, lambda), 2, T0 + DAY, lambda);
    const late = addWeight(addWeight(undefined, 2, T0 + DAY, lambda), 1, T0, lambda);
    expect(decayTo(late, T0 + 5 * DAY, lambda)).toBeCloseTo(
      decayTo(inOrder, T0 + 5 * DAY, lambda),
      12,
    );
    expect(late.t).toBe(T0 + DAY);
  });

  it('weights by event type: purchase > add_to_cart > click > page_view', () => {
    const w = cfg.weights;
    expect(
      w.purchase! > w.add_to_cart! && w.add_to_cart! > w.click! && w.click! > w.page_view!,
    ).toBe(true);
    const p = build([
      e({ ts: T0, type: 'purchase', category: 'a' }),
      e({ ts: T0, type: 'click', category: 'b' }),
    ]);
    expect(p.scores.a!.s).toBe(10);
    expect(p.scores.b!.s).toBe(2);
    const custom = build([e({ ts: T0, type: 'wishlist', category: 'a' })]);
    expect(custom.scores.a!.s).toBe(cfg.defaultWeight);
  });
});

describe('shares and the dominant category', () => {
  const views = (cat: string, k: number, t = T0) =>
    Array.from({ length: k }, () => e({ ts: t, category: cat }));

  it.each([
    [
      '70% women’s apparel',
      [...views('womens_apparel', 7), ...views('shoes', 3)],
      'womens_apparel',
      { womens_apparel: 0.7, shoes: 0.3 },
    ],
    ['exactly 50% is dominant', [...views('a', 5), ...views('b', 5)], 'a', { a: 0.5, b: 0.5 }],
    [
      '40/30/30 is mixed',
      [...views('a', 4), ...views('b', 3), ...views('c', 3)],
      'mixed',
      { a: 0.4, b: 0.3, c: 0.3 },
    ],
    ['no categorized activity', [e({ ts: T0 })], null, {}],
  ] as const)('%s', (_n, events, category, affinity) => {
    const seg = evaluate(build([...events]), subject, cfg, T0);
    expect(seg.category).toBe(category);
    expect(seg.affinity).toEqual(affinity);
  });

  it('old interest fades: equal counts, two half-lives apart → 80/20', () => {
    const p = build([...views('old', 1, T0 - 28 * DAY), ...views('new', 1, T0)]);
    expect(shares(p.scores, T0, lambda)).toEqual({ new: 0.8, old: 0.2 });
  });

  it('keeps at most maxCategories scores, dropping the weakest', () => {
    const small = engine({ maxCategories: 3 });
    const p = build(
      [
        e({ ts: T0, category: 'a', type: 'purchase' }),
        e({ ts: T0, category: 'b' }),
        e({ ts: T0 + 1, category: 'c' }),
        e({ ts: T0 + 2, category: 'd', type: 'click' }),
      ],
      small,
    );
    expect(Object.keys(p.scores).sort()).toEqual(['a', 'c', 'd']);
    expect(Object.keys(boundScores({ x: { s: 1, t: T0 } }, 3, T0, lambda))).toEqual(['x']);
  });

  it('a category named __proto__ is an ordinary category', () => {
    const p = build([e({ ts: T0, category: '__proto__' }), e({ ts: T0, category: '__proto__' })]);
    expect(Object.getPrototypeOf(p.scores)).toBe(Object.prototype);
    expect(Object.hasOwn(p.scores, '__proto__')).toBe(true);
    const seg = evaluate(JSON.parse(JSON.stringify(p)), subject, cfg, T0);
    expect(seg.category).toBe('__proto__');
    expect(Object.hasOwn(seg.affinity, '__proto__')).toBe(true);
  });
});
