import { describe, expect, it } from 'vitest';
import {
  applyEvent,
  emptyProfile,
  evaluate,
  mergeProfiles,
  type EngineEvent,
  type Profile,
} from '../../collector/engine/index.ts';
import { build, DAY, e, engine, subject, T0 } from './fixtures.ts';

const cfg = engine();

/** What applying both streams to one profile gives, the reference a merge must match. */
const together = (a: EngineEvent[], b: EngineEvent[]) =>
  build(
    [...a, ...b].sort((x, y) => x.ts - y.ts),
    cfg,
  );

function expectSameProfile(actual: Profile, expected: Profile) {
  expect(actual.count).toBe(expected.count);
  expect(actual.firstSeen).toBe(expected.firstSeen);
  expect(actual.lastSeen).toBe(expected.lastSeen);
  expect(actual.purchases).toEqual(expected.purchases);
  expect(actual.window).toEqual(expected.window);
  expect(Object.keys(actual.scores).sort()).toEqual(Object.keys(expected.scores).sort());
  for (const k of Object.keys(expected.scores)) {
    const at = T0 + 100 * DAY;
    const decay = (s: { s: number; t: number }) =>
      s.s * Math.exp((-Math.LN2 / (14 * DAY)) * (at - s.t));
    expect(decay(actual.scores[k]!)).toBeCloseTo(decay(expected.scores[k]!), 9);
  }
}

const shared1 = e({ ts: T0 + 2 * DAY, category: 'cameras' });
const sharedBuy = e({ ts: T0 + 3 * DAY, type: 'purchase', value: 300, category: 'cameras' });
const onlyA = e({ ts: T0, category: 'cameras' });
const onlyB = e({ ts: T0 + 4 * DAY, category: 'tv' });

describe('mergeProfiles', () => {
  it.each([
    [
      'same category on two devices',
      [e({ ts: T0, category: 'cameras' })],
      [e({ ts: T0 + DAY, category: 'cameras' })],
    ],
    [
      'different categories, interleaved',
      [e({ ts: T0, category: 'a' }), e({ ts: T0 + 2 * DAY, category: 'b' })],
      [e({ ts: T0 + DAY, category: 'b' }), e({ ts: T0 + 3 * DAY, category: 'c' })],
    ],
    [
      'purchases on both',
      [e({ ts: T0, type: 'purchase', value: 100 })],
      [e({ ts: T0 + 5 * DAY, type: 'purchase', value: 2000, category: 'tv' })],
    ],
    [
      'one side before the other, weeks apart',
      [e({ ts: T0 - 20 * DAY, category: 'a' })],
      [e({ ts: T0, category: 'a' })],
    ],
    [
      'the later purchase is on the first side',
      [e({ ts: T0 + 9 * DAY, type: 'purchase', value: 7 })],
      [e({ ts: T0, type: 'purchase', value: 3 })],
    ],
  ] as [string, EngineEvent[], EngineEvent[]][])(
    '%s: equals one profile fed both streams',
    (_n, a, b) => {
      expectSameProfile(mergeProfiles(build(a), build(b), cfg), together(a, b));
      expectSameProfile(mergeProfiles(build(b), build(a), cfg), together(a, b));
    },
  );

  it.each([
    ['one shared view', [onlyA, shared1], [shared1, onlyB], [onlyA, shared1, onlyB]],
    ['a shared purchase', [shared1, sharedBuy], [sharedBuy], [shared1, sharedBuy]],
    ['everything shared', [shared1, sharedBuy], [shared1, sharedBuy], [shared1, sharedBuy]],
  ] as [string, EngineEvent[], EngineEvent[], EngineEvent[]][])(
    '%s: counted once',
    (_n, a, b, union) => {
      const merged = mergeProfiles(build(a), build(b), cfg);
      expectSameProfile(merged, build(union));
    },
  );

  it('merging with an empty profile changes nothing', () => {
    const p = build([e({ ts: T0, category: 'a' })]);
    expect(mergeProfiles(p, emptyProfile(T0 + 50 * DAY), cfg)).toEqual(p);
    expect(mergeProfiles(emptyProfile(T0 - 50 * DAY), p, cfg)).toEqual(p);
  });

  it('re-bounds the window and the categories', () => {
    const small = engine({ windowCap: 3, maxCategories: 2 });
    const a = [0, 2, 4].map((i) => e({ ts: T0 + i, category: `a${i}` }));
    const b = [1, 3, 5].map((i) => e({ ts: T0 + i, category: `b${i}` }));
    const m = mergeProfiles(build(a, small), build(b, small), small);
    expect(m.window.map((x) => x[0])).toEqual([T0 + 3, T0 + 4, T0 + 5]);
    expect(Object.keys(m.scores)).toHaveLength(2);
    expect(m.count).toBe(6);
  });

  it('the merged segment: the same category seen on two devices before identify', () => {
    const phone = build([
      e({ ts: T0, category: 'cameras' }),
      e({ ts: T0 + DAY, category: 'cameras' }),
    ]);
    const laptop = build([
      e({ ts: T0 + 2 * DAY, category: 'cameras' }),
      e({ ts: T0 + 2 * DAY, category: 'tv' }),
    ]);
    const seg = evaluate(mergeProfiles(phone, laptop, cfg), subject, cfg, T0 + 2 * DAY);
    expect(seg).toMatchObject({ category: 'cameras', engagement: 'hot', lifecycle: 'newbie' });
    // Applying later events to the merged profile keeps working.
    const next = applyEvent(
      mergeProfiles(phone, laptop, cfg),
      e({ ts: T0 + 3 * DAY, type: 'purchase', value: 10 }),
      cfg,
    );
    expect(next.purchases.n).toBe(1);
  });
});
