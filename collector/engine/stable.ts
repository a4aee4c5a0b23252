/**
 * How long a segment stays what it is. `evaluate` reads the clock only through comparisons: a
 * window entry entering or leaving a span (hot, intent, a rule's count), the time since first
 * seen, last seen, the last purchase or a high-end purchase passing a threshold (lifecycle,
 * engagement, cooldown, RFM recency, a rule's `days.*` fact). Affinity shares do not move with
 * the clock (affinity.ts). So between two such boundaries its answer is the same, and a read may
 * keep it until the next one: `stableUntil` is the first time after `now` at which the answer may
 * differ. It may be early (a boundary that changes nothing), never late, but for goals'
 * probabilities, which move continuously and are recomputed every `GOAL_HOLD_MS`.
 */
import { GOAL_HOLD_MS } from '../goals/serve.ts';
import { DAY, type EngineConfig } from './config.ts';
import type { Extras } from './evaluate.ts';
import { upgradeProfile, type Profile } from './profile.ts';

/**
 * The moments around `t` at which a comparison with `t` may flip. The clock counts whole ms, a
 * threshold may not (`1.5h` in a rule, days × DAY in floating point, `(now − t) / DAY > x`), and
 * a strict and a loose comparison flip one ms apart: the next three whole ms cover all of them.
 */
function edges(t: number, now: number, best: number): number {
  if (!Number.isFinite(t)) return best;
  const f = Math.floor(t);
  for (let k = f; k <= f + 2; k++) if (k > now && k < best) return k;
  return best;
}

/**
 * The first time after `now` at which `evaluate(profile, subject, config, at, extras)` may answer
 * differently than at `now` (Infinity: never by time alone). `extras.traits` do not move with
 * time; `extras.rfm` is part of the answer's inputs (a new one is a new answer).
 */
export function stableUntil(
  profile: Profile,
  config: EngineConfig,
  now: number,
  extras: Extras = {},
): number {
  const p = upgradeProfile(profile);
  let best = Infinity;
  const at = (t: number | null) => {
    if (t !== null) best = edges(t, now, best);
  };
  // Lifecycle, engagement and cooldown thresholds.
  at(p.firstSeen + config.newbieDays * DAY);
  at(p.lastSeen + config.activeDays * DAY);
  at(p.lastSeen + config.warmDays * DAY);
  at(p.lastSeen + config.atRiskDays * DAY);
  at(p.lastSeen + config.lapsedDays * DAY);
  if (p.purchases.highEndAt !== null) at(p.purchases.highEndAt + config.cooldownDays * DAY);
  // RFM recency: with the fixed thresholds, the age of the last purchase passing one (quintiles
  // compare the purchase's own time with theirs: the clock plays no part).
  const last = p.purchases.last;
  if (last !== null && !extras.rfm) for (const d of config.rfm.recencyDays) at(last + d * DAY);
  // Spans over the window log: an entry counts from its own time until it is `span` old.
  const spans = [config.hotDays * DAY, config.intentDays * DAY];
  for (const rule of config.rules) {
    for (const w of rule.clock.windows) if (!spans.includes(w)) spans.push(w);
    for (const { fact, value } of rule.clock.days) {
      const base =
        fact === 'days.sinceFirstSeen'
          ? p.firstSeen
          : fact === 'days.sinceLastSeen'
            ? p.lastSeen
            : fact === 'days.sinceLastPurchase'
              ? last
              : undefined;
      // A days fact this code does not know: no promise past the next ms.
      if (base === undefined) return now + 1;
      if (base !== null) at(base + value * DAY);
    }
  }
  for (const e of p.window) {
    at(e[0]);
    for (const span of spans) at(e[0] + span);
  }
  // A goal's probability moves with the clock continuously (days since the last visit, a window
  // count): served from a read's memo for at most GOAL_HOLD_MS, a bounded lag rather than a boundary.
  if (config.goals?.some((g) => g.model !== null)) best = Math.min(best, now + GOAL_HOLD_MS);
  return best;
}
