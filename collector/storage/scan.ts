/**
 * The rule preview's cheap profile: the one a `profiles` row's own columns give (first and last
 * seen, purchase count, total and time of the last), without reading or parsing the stored
 * aggregate. Lifecycle, RFM, `purchases.count`, `purchases.total`, `days.*` and `known` read no
 * more than these (rules/preview.ts decides when it suffices); scores and the window are empty,
 * and a stored profile has at least one event.
 */
import type { Profile } from '../engine/index.ts';

export function profileFromColumns(
  firstSeen: number,
  lastSeen: number,
  purchases: number,
  monetary: number,
  lastPurchase: number | null,
): Profile {
  return {
    firstSeen,
    lastSeen,
    count: 1,
    scores: {},
    window: [],
    purchases: {
      n: purchases,
      total: monetary,
      first: null,
      last: lastPurchase,
      lastValue: null,
      highEndAt: null,
    },
  };
}
