/**
 * The preview's prefilter (engine/active.ts) is sound: over many generated rules and profiles,
 * every profile a rule matches was last seen after `now − activeWithin(rule)`, so a scan that
 * skips the others counts exactly what the full scan counts. And it does prune: the named
 * shapes get the bound they should, `any` and `not` none.
 */
import { describe, expect, it } from 'vitest';
import {
  activeWithin,
  applyEvent,
  compileRules,
  DEFAULT_ENGINE,
  emptyProfile,
  matches,
  type Profile,
} from '../../collector/engine/index.ts';
import { TEMPLATES } from '../../collector/rules/templates.ts';
import { DAY, HOUR, T0 } from './fixtures.ts';
import { condition, history, rng } from './rule-gen.ts';

const config = DEFAULT_ENGINE;

function profiles(seed: number, now: number): Profile[] {
  const r = rng(seed);
  return Array.from({ length: 150 }, (_, i) =>
    history(r, now, `v${i}`).reduce((p, ev) => applyEvent(p, ev, config), emptyProfile(now)),
  );
}

describe('activeWithin (the preview prefilter)', () => {
  it('gives the bound of the requirements every match meets, and none under any/not', () => {
    const cam = { count: { category: 'cameras', within: '7d' }, gte: 3 };
    expect(activeWithin(cam)).toBe(7 * DAY);
    expect(activeWithin({ count: { within: '1d' }, gt: 0 })).toBe(DAY);
    expect(activeWithin({ count: { within: '1d' }, in: [2, 3] })).toBe(DAY);
    expect(activeWithin({ count: { within: '1d' }, between: [1, 4] })).toBe(DAY);
    // Zero events pass these: no bound.
    for (const op of [{ lt: 2 }, { lte: 0 }, { eq: 0 }, { ne: 3 }, { gte: 0 }, { in: [0, 1] }])
      expect(activeWithin({ count: { within: '1d' }, ...op }), JSON.stringify(op)).toBeUndefined();
    expect(
      activeWithin({
        sequence: { did: { type: 'add_to_cart', within: '3d' }, without: {}, for: '1h' },
      }),
    ).toBe(3 * DAY);
    expect(
      activeWithin({
        all: [{ fact: 'known', eq: true }, cam, { count: { within: '12h' }, gte: 1 }],
      }),
    ).toBe(12 * HOUR);
    expect(activeWithin({ any: [cam, cam] })).toBeUndefined();
    expect(activeWithin({ not: cam })).toBeUndefined();
    expect(activeWithin({ not: { not: cam } })).toBeUndefined();
    expect(activeWithin({ fact: 'days.sinceLastSeen', lt: 1 })).toBeUndefined();
    const byId = Object.fromEntries(TEMPLATES.map((t) => [t.id, activeWithin(t.rule.when)]));
    expect(byId['camera-curious']).toBe(7 * DAY);
    expect(byId['cart-abandoned']).toBeGreaterThan(0);
  });

  it.each([1, 2, 3, 4, 5, 6, 7, 8])(
    'prunes no match: 250 generated rules × 150 profiles, seed %s',
    (seed) => {
      const now = T0 + seed * 1000;
      const ps = profiles(seed, now);
      const r = rng(seed * 7919);
      let bounded = 0;
      let pruned = 0;
      let matched = 0;
      for (let i = 0; i < 250; i++) {
        const when = condition(r);
        const { rules, problems } = compileRules({ g: { when } }, config.windowDays);
        expect(problems, JSON.stringify(when)).toEqual([]);
        const rule = rules[0];
        if (!rule) throw new Error('no rule');
        const within = activeWithin(when);
        if (within !== undefined) bounded++;
        const cut = within === undefined ? undefined : Math.floor(now - within);
        let full = 0;
        let fast = 0;
        for (const p of ps) {
          const m = matches(rule, p, false, config, now);
          if (m) full++;
          const skip = cut !== undefined && p.lastSeen <= cut;
          if (skip) pruned++;
          else if (m) fast++;
        }
        expect(fast, `seed ${seed} rule ${i}: ${JSON.stringify(when)}`).toBe(full);
        matched += full;
      }
      // The generator reaches the cases that matter: bounds, pruned profiles, matches.
      expect(bounded).toBeGreaterThan(50);
      expect(pruned).toBeGreaterThan(1000);
      expect(matched).toBeGreaterThan(1000);
    },
  );
});
