import { describe, expect, it } from 'vitest';
import {
  quintileRanks,
  rfmLabel,
  rfmOf,
  recencyTimes,
  scoreAbove,
  type RfmBreakpoints,
} from '../../collector/engine/rfm.ts';
import { DEFAULT_RFM, NO_PURCHASES_FOR_TEST } from './rfm-fixtures.ts';
import { DAY, T0 } from './fixtures.ts';

// The standard grid, written out cell by cell (rows R 5..1, columns F 1..5).
const GRID: Record<number, string[]> = {
  5: ['new_customer', 'potential_loyalist', 'potential_loyalist', 'champions', 'champions'],
  4: ['promising', 'potential_loyalist', 'potential_loyalist', 'loyal', 'loyal'],
  3: ['about_to_sleep', 'about_to_sleep', 'need_attention', 'loyal', 'loyal'],
  2: ['hibernating', 'hibernating', 'at_risk', 'at_risk', 'cannot_lose'],
  1: ['hibernating', 'hibernating', 'at_risk', 'at_risk', 'cannot_lose'],
};
const cells = Object.entries(GRID).flatMap(([r, row]) =>
  row.map((label, i) => [Number(r), i + 1, label] as const),
);

describe('RFM grid', () => {
  it.each(cells)('R %i F %i → %s', (r, f, label) => {
    expect(rfmLabel(r, f)).toBe(label);
  });
});

describe('RFM scores, fixed thresholds', () => {
  const p = (n: number, total: number, lastAgoDays: number) => ({
    ...NO_PURCHASES_FOR_TEST,
    n,
    total,
    first: T0,
    last: T0 - lastAgoDays * DAY,
  });
  // One tie rule for all three: a value on a threshold takes the lower score. For R the value is
  // the last purchase's time against now − recencyDays, so exactly 14 days ago is R 4.
  it.each([
    // [n, total, days since last purchase] → r, f, m
    [1, 50, 0, 5, 1, 1],
    [1, 50.01, 13.9999, 5, 1, 2],
    [1, 50.01, 14, 4, 1, 2],
    [2, 150, 14.0001, 4, 2, 2],
    [3, 400, 29.999, 4, 3, 3],
    [3, 400, 30, 3, 3, 3],
    [4, 400.5, 31, 3, 4, 4],
    [5, 1000, 90, 2, 4, 4],
    [6, 1000.01, 91, 2, 5, 5],
    [20, 99_999, 179, 2, 5, 5],
    [20, 99_999, 180, 1, 5, 5],
  ])('n %d total %d last %d days ago → R %d F %d M %d', (n, total, ago, r, f, m) => {
    expect(rfmOf(p(n, total, ago), T0, DEFAULT_RFM)).toMatchObject({ r, f, m });
  });

  it('no purchase, no RFM', () => {
    expect(rfmOf(NO_PURCHASES_FOR_TEST, T0, DEFAULT_RFM)).toBeNull();
  });
});

describe('RFM quintiles', () => {
  it.each([
    [5, [0, 1, 2, 3]],
    [10, [1, 3, 5, 7]],
    [7, [1, 2, 4, 5]],
    [1, [0, 0, 0, 0]],
  ])('%i customers: breakpoint ranks %j', (n, ranks) => {
    expect(quintileRanks(n)).toEqual(ranks);
  });

  it('scores against breakpoints: ties at a breakpoint take the lower score', () => {
    // 10 customers with 1..10 purchases: breakpoints at ranks 1,3,5,7 → 2,4,6,8.
    const sorted = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
    const b = quintileRanks(10).map((i) => sorted[i]!) as [number, number, number, number];
    expect(sorted.map((x) => scoreAbove(x, b))).toEqual([1, 1, 2, 2, 3, 3, 4, 4, 5, 5]);
    // Many one-time buyers: breakpoints [1,1,1,2] put every single purchase in F 1.
    expect(scoreAbove(1, [1, 1, 1, 2])).toBe(1);
    expect(scoreAbove(3, [1, 1, 1, 2])).toBe(5);
    // Recency is scored on the last purchase's time, oldest first: the same rule.
    expect([0, 1, 2, 3, 4].map((t) => scoreAbove(t, [0, 1, 2, 3]))).toEqual([1, 2, 3, 4, 5]);
    expect(recencyTimes([14, 30, 90, 180], T0)).toEqual([
      T0 - 180 * DAY,
      T0 - 90 * DAY,
      T0 - 30 * DAY,
      T0 - 14 * DAY,
    ]);
  });

  it('uses the site breakpoints when given', () => {
    const bp: RfmBreakpoints = {
      lastPurchase: [T0 - 4 * DAY, T0 - 3 * DAY, T0 - 2 * DAY, T0 - DAY],
      frequency: [1, 2, 3, 4],
      monetary: [10, 20, 30, 40],
      customers: 100,
      computed: T0,
    };
    const p = { ...NO_PURCHASES_FOR_TEST, n: 5, total: 25, first: T0, last: T0 - 1.5 * DAY };
    expect(rfmOf(p, T0, DEFAULT_RFM, bp)).toEqual({ r: 4, f: 5, m: 3, label: 'loyal' });
    // Breakpoints are times: the score does not move with the clock until the job runs again.
    expect(rfmOf(p, T0 + 7 * DAY, DEFAULT_RFM, bp)).toMatchObject({ r: 4 });
    const onBreakpoint = { ...p, last: T0 - 2 * DAY };
    expect(rfmOf(onBreakpoint, T0, DEFAULT_RFM, bp)).toMatchObject({ r: 3 });
    expect(rfmOf(onBreakpoint, T0 + 60_000, DEFAULT_RFM, bp)).toMatchObject({ r: 3 });
  });
});
