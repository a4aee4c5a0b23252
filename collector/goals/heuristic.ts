/**
 * Today's `intent` heuristic judged on the same holdout as the model (docs/goals.md): each holdout
 * visitor's events before the cut-off folded into a profile by the engine, its intent read at the
 * cut-off, and ranked least < moderately < most likely. So the model answer can say whether the
 * model beats the fallback it replaces, on the same examples.
 */
import type { Intent } from '../../shared/segment.ts';
import type { EngineConfig } from '../engine/index.ts';
import { type FeatureEvent, foldUntil, stageAt } from './features.ts';
import { auc } from './metrics.ts';

const RANK: Record<Intent, number> = { least_likely: 0, moderately_likely: 1, most_likely: 2 };

export interface HeuristicEvaluation {
  /** AUC of the intent's rank against the label (ties, most of them, count half). */
  auc: number | null;
  /** Per intent bucket: holdout examples and the share that reached the goal. */
  buckets: Record<Intent, { n: number; rate: number }>;
}

/** The visitor's intent at `cutoff`, from its events before it, with the site's thresholds. */
export function intentAt(
  events: readonly FeatureEvent[],
  cutoff: number,
  engine: EngineConfig,
): Intent | null {
  const sorted = events.filter((e) => e.ts < cutoff).sort((a, b) => a.ts - b.ts);
  const { profile } = foldUntil(null, sorted, 0, cutoff, engine);
  return profile === null ? null : stageAt(profile, cutoff, engine).intent;
}

export function judgeHeuristic(
  intents: readonly Intent[],
  ys: readonly boolean[],
): HeuristicEvaluation {
  const buckets: Record<Intent, { n: number; rate: number }> = {
    most_likely: { n: 0, rate: 0 },
    moderately_likely: { n: 0, rate: 0 },
    least_likely: { n: 0, rate: 0 },
  };
  intents.forEach((intent, i) => {
    const b = buckets[intent];
    b.n++;
    if (ys[i]) b.rate++;
  });
  for (const b of Object.values(buckets)) b.rate = b.n > 0 ? b.rate / b.n : 0;
  return {
    auc: auc(
      intents.map((i) => RANK[i]),
      ys,
    ),
    buckets,
  };
}
