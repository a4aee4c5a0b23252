/** Category affinity: S ← S·exp(−λ·(t − t_last)) + w, λ = ln 2 / half-life. */
import { DAY, type EngineConfig } from './config.ts';
import type { Score } from './profile.ts';

/** Sets an own property even for a key like `__proto__` (categories are free text from the wire). */
export function setOwn<T>(obj: Record<string, T>, key: string, value: T): void {
  // Only `__proto__` is special to assignment; defining every key cost ~5 µs per segment read.
  if (key === '__proto__')
    Object.defineProperty(obj, key, {
      value,
      enumerable: true,
      writable: true,
      configurable: true,
    });
  else obj[key] = value;
}

export function decayRate(config: EngineConfig): number {
  return Math.LN2 / (config.halfLifeDays * DAY);
}

/** The score decayed to `at`. Events may arrive out of order: an older event decays forward instead. */
export function decayTo(score: Score, at: number, lambda: number): number {
  return score.s * Math.exp(-lambda * (at - score.t));
}

/** Adds weight `w` observed at `t` to a score, keeping the score anchored at the later time. */
export function addWeight(score: Score | undefined, w: number, t: number, lambda: number): Score {
  if (!score) return { s: w, t };
  if (t >= score.t) return { s: decayTo(score, t, lambda) + w, t };
  // A late event: its weight, decayed to the score's anchor time.
  return { s: score.s + w * Math.exp(-lambda * (score.t - t)), t: score.t };
}

/**
 * Shares of the decayed scores, rounded to 2 decimals; empty with no score. Every score decays by
 * the same factor over the same time, so the shares do not move with the clock: they are computed
 * at the newest score's time, which gives the same figures as at any `now` and keeps them exactly
 * equal from one moment to the next (a segment can then be kept until a time boundary; see
 * stable.ts). `now` stays in the signature for the callers that think in it.
 */
export function shares(
  scores: Record<string, Score>,
  _now: number,
  lambda: number,
): Record<string, number> {
  const decayed: [string, number][] = [];
  let total = 0;
  const entries = Object.entries(scores);
  let at = -Infinity;
  for (const [, score] of entries) at = Math.max(at, score.t);
  for (const [cat, score] of entries) {
    const s = decayTo(score, at, lambda);
    if (s > 0) {
      decayed.push([cat, s]);
      total += s;
    }
  }
  const out: Record<string, number> = {};
  if (total <= 0) return out;
  decayed.sort((a, b) => b[1] - a[1]);
  for (const [cat, s] of decayed) setOwn(out, cat, Math.round((s / total) * 100) / 100);
  return out;
}

/**
 * Keeps the `max` strongest scores (decayed to `at`), so a visitor who touches thousands of
 * categories still has a bounded profile. The dropped ones are the smallest shares.
 */
export function boundScores(
  scores: Record<string, Score>,
  max: number,
  at: number,
  lambda: number,
): Record<string, Score> {
  const keys = Object.keys(scores);
  if (keys.length <= max) return scores;
  const ranked = Object.entries(scores)
    .map(([k, score]) => [k, score, decayTo(score, at, lambda)] as const)
    .sort((a, b) => b[2] - a[2]);
  const out: Record<string, Score> = {};
  for (const [k, score] of ranked.slice(0, max)) setOwn(out, k, score);
  return out;
}
