/**
 * A goal's probability and bucket for one profile at read time (docs/goals.md, "Served with the
 * segment"): the features read off the live profile exactly as training read them off the profiles
 * it folded (goals/features.ts), the model's calibrated probability, and its bucket by the
 * model's thresholds. A goal without a model it can trust (untrained, too little data, changed
 * since, trained by an older version) answers with the intent heuristic's bucket and no `p`.
 */
import type { GoalScore } from '../../shared/segment.ts';
import type { EngineConfig } from '../engine/config.ts';
import type { Profile } from '../engine/profile.ts';
import { featuresOf, type Stage } from './features.ts';
import type { Goal } from './goal.ts';
import { calibrated, logit } from './logistic.ts';
import { bucketOf, type GoalModel } from './train.ts';

/** A goal as the engine serves it (put in force by goals/runtime.ts). */
export interface ServedGoal {
  name: string;
  goal: Goal;
  /** The model serving it, or null: the intent heuristic serves. */
  model: GoalModel | null;
  /** Shown to browsers (`GET /v1/segment`, `/v1/collect`'s answer): false unless the goal says. */
  public: boolean;
}

/** How long a read's memo may keep a probability (engine/stable.ts): it moves with the clock. */
export const GOAL_HOLD_MS = 5 * 60_000;

/** Probabilities are answered to three decimals (rules compare what is shown). */
const round3 = (p: number) => Math.round(p * 1000) / 1000;

export function scoreGoal(
  served: ServedGoal,
  p: Profile,
  now: number,
  stage: Stage,
  traits: Record<string, unknown> | undefined,
  config: EngineConfig,
): GoalScore {
  const m = served.model;
  if (m === null || p.count === 0) return { p: null, bucket: stage.intent, source: 'intent' };
  const x = featuresOf(p, now, stage, served.goal, m.vocab, traits, config);
  const prob = round3(calibrated(m.platt, logit(m.logistic, x)));
  return { p: prob, bucket: bucketOf(prob, m.thresholds), source: 'model' };
}

export function scoreGoals(
  goals: readonly ServedGoal[],
  p: Profile,
  now: number,
  stage: Stage,
  traits: Record<string, unknown> | undefined,
  config: EngineConfig,
): Record<string, GoalScore> {
  const out: Record<string, GoalScore> = {};
  for (const g of goals) out[g.name] = scoreGoal(g, p, now, stage, traits, config);
  return out;
}
