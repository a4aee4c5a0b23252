import { describe, expect, it } from 'vitest';
import { addToWindow, applyEvent } from '../../collector/engine/apply.ts';
import { countMatching as countWithin } from '../../collector/engine/rules.ts';
import { emptyProfile, evaluate } from '../../collector/engine/index.ts';
import { build, DAY, e, engine, MIN, subject, T0 } from './fixtures.ts';

const cfg = engine();
const cams = (ts: number) => e({ ts, category: 'cameras' });

describe('sliding windows at read time', () => {
  // Three camera views at T0, T0+1d, T0+2d: hot while all three are within 7 days.
  const p = build([cams(T0), cams(T0 + DAY), cams(T0 + 2 * DAY)]);
  const count = (now: number) => countWithin(p.window, now, 7 * DAY, (x) => x[2] === 'cameras');

  it.each([
    ['at the third view', T0 + 2 * DAY, 3, 'hot'],
    ['at 6d23h59m after the oldest', T0 + 7 * DAY - MIN, 3, 'hot'],
    ['1 ms before the oldest turns 7 days', T0 + 7 * DAY - 1, 3, 'hot'],
    ['exactly 7 days after the oldest (it has left)', T0 + 7 * DAY, 2, 'active'],
    ['a minute after the oldest falls out', T0 + 7 * DAY + MIN, 2, 'active'],
    ['after all three left', T0 + 9 * DAY, 0, 'warm'],
  ])('%s: %i in window, %s', (_n, now, n, engagement) => {
    expect(count(now)).toBe(n);
    expect(evaluate(p, subject, cfg, now).engagement).toBe(engagement);
  });

  it('ignores events stamped after now (clock skew)', () => {
    expect(countWithin(p.window, T0 + DAY, 7 * DAY, () => true)).toBe(2);
  });

  it('keeps entries in time order whatever the arrival order', () => {
    const w = build([cams(T0 + 2), cams(T0), cams(T0 + 1)]).window.map((x) => x[0]);
    expect(w).toEqual([T0, T0 + 1, T0 + 2]);
  });

  it('drops entries at or before newest − windowDays', () => {
    const w = build([cams(T0), cams(T0 + 1), cams(T0 + 30 * DAY)]).window.map((x) => x[0]);
    expect(w).toEqual([T0 + 1, T0 + 30 * DAY]);
  });

  it('is bounded by windowCap whatever the traffic, oldest dropped first', () => {
    const small = engine({ windowCap: 5 });
    let profile = emptyProfile(T0);
    for (let i = 0; i < 1000; i++) profile = applyEvent(profile, cams(T0 + i * MIN), small);
    expect(profile.window).toHaveLength(5);
    expect(profile.window[0]![0]).toBe(T0 + 995 * MIN);
    expect(profile.count).toBe(1000);
    // The default caps bound the stored JSON: 2000 events in 80 categories stay under 24 KB.
    let big = emptyProfile(T0);
    for (let i = 0; i < 2000; i++)
      big = applyEvent(
        big,
        e({
          ts: T0 + i * 1000,
          category: `c${i % 80}`,
          id: `ev_${i.toString().padStart(19, '0')}`,
        }),
        cfg,
      );
    expect(big.window).toHaveLength(cfg.windowCap);
    expect(Object.keys(big.scores)).toHaveLength(cfg.maxCategories);
    expect(JSON.stringify(big).length).toBeLessThan(24_000);
  });

  it('keeps value and only the props some rule reads', () => {
    const w = addToWindow([], [T0, 'purchase', 'a', 'id1', 99], cfg);
    expect(w[0]).toEqual([T0, 'purchase', 'a', 'id1', 99]);
    const ruled = engine({ windowProps: ['plan'] });
    const p = applyEvent(
      emptyProfile(T0),
      e({ ts: T0, id: 'i', props: { plan: 'pro', noise: 'x'.repeat(200) } }),
      ruled,
    );
    expect(p.window[0]).toEqual([T0, 'page_view', null, 'i', null, { plan: 'pro' }]);
    const plain = applyEvent(emptyProfile(T0), e({ ts: T0, id: 'i', props: { plan: 'pro' } }), cfg);
    expect(plain.window[0]).toEqual([T0, 'page_view', null, 'i']);
  });
});
