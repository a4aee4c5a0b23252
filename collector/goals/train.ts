/**
 * One training of a goal's model, pure (it runs in a worker thread, goals/trainer.ts): examples
 * are the visitors as they stood at past cut-offs, a horizon apart, so that no example's label
 * window overlaps a later cut-off. Time decides every split (docs/goals.md):
 *
 *   … c4  c3  c2 │ c1          │ c0           │ end
 *   train (fit)    calibration   holdout        (c0 + horizon ≤ end: every label fully seen)
 *
 * The model is fitted on the oldest cut-offs, Platt-scaled on the next, and judged on the latest,
 * which neither saw: the figures reported are those of the model stored.
 */
import { GOAL_LIMITS } from '../../shared/limits.ts';
import {
  type FeatureEvent,
  featureNames,
  featuresAt,
  labelAt,
  type Vocabulary,
} from './features.ts';
import type { Intent } from '../../shared/segment.ts';
import type { EngineConfig } from '../engine/index.ts';
import { type Goal, withinMs } from './goal.ts';
import { type HeuristicEvaluation, intentAt, judgeHeuristic } from './heuristic.ts';
import {
  calibrated,
  fitLogistic,
  fitPlatt,
  type LogisticModel,
  logit,
  type Platt,
} from './logistic.ts';
import { type Evaluation, evaluate } from './metrics.ts';

/** Categories given features of their own (the most frequent). */
export const VOCAB_CATEGORIES = 8;
/** Cut-offs by default: three to fit on, one to calibrate, one to judge. */
export const DEFAULT_CUTOFFS = 5;

export interface TrainingInput {
  goal: Goal;
  /** Each visitor's events (any order). */
  histories: Map<string, FeatureEvent[]>;
  /** Traits of visitors that have some (only the goal's `traits` are read). */
  traits: Map<string, Record<string, unknown>>;
  /** The time the data runs to (default: the latest event). */
  end?: number | undefined;
  cutoffs?: number | undefined;
  minExamples?: number | undefined;
  minPositives?: number | undefined;
  /**
   * The site's engine thresholds (rules left out: they do not cross to a worker), to judge the
   * intent heuristic on the same holdout; without it the report has no `heuristic`.
   */
  engine?: EngineConfig | undefined;
}

/** A fitted model as stored (JSON) and scored. */
export interface GoalModel {
  version: 1;
  features: string[];
  vocab: Vocabulary;
  logistic: LogisticModel;
  platt: Platt;
}

export interface SplitFigures {
  examples: number;
  positives: number;
}

export interface TrainingReport {
  /** `model`: trusted; `fallback`: too little data (the intent heuristic serves). */
  status: 'model' | 'fallback';
  reason?: string;
  horizonMs: number;
  /** The cut-offs, latest first (epoch ms): holdout, calibration, then the fitting ones. */
  cutoffs: number[];
  end: number;
  train: SplitFigures;
  calibration: SplitFigures;
  /** The holdout's evaluation (absent when there was nothing to judge). */
  holdout: Evaluation | null;
  /** Today's intent heuristic on the same holdout examples (absent without an engine config). */
  heuristic?: HeuristicEvaluation | undefined;
  features: number;
  tookMs: number;
}

export interface TrainingResult {
  report: TrainingReport;
  model: GoalModel | null;
}

/** The model's calibrated probability for one feature vector. */
export function score(model: GoalModel, x: readonly number[]): number {
  return calibrated(model.platt, logit(model.logistic, x));
}

function vocabulary(input: TrainingInput, before: number): Vocabulary {
  const counts = new Map<string, number>();
  for (const events of input.histories.values())
    for (const e of events)
      if (e.category !== null && e.ts < before)
        counts.set(e.category, (counts.get(e.category) ?? 0) + 1);
  const categories = [...counts]
    .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
    .slice(0, VOCAB_CATEGORIES)
    .map(([c]) => c);
  const traits = (input.goal.traits ?? []).map((name) => {
    const values = new Map<string, number>();
    for (const t of input.traits.values()) {
      const v = t[name];
      if (v !== undefined && v !== null) values.set(String(v), (values.get(String(v)) ?? 0) + 1);
    }
    return {
      name,
      values: [...values]
        .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
        .slice(0, GOAL_LIMITS.traitValues)
        .map(([v]) => v),
    };
  });
  return { categories, traits };
}

interface Split {
  xs: number[][];
  ys: boolean[];
}

const figures = (s: Split): SplitFigures => ({
  examples: s.ys.length,
  positives: s.ys.filter(Boolean).length,
});

const hasBoth = (s: Split) => {
  const f = figures(s);
  return f.positives > 0 && f.positives < f.examples;
};

export function train(input: TrainingInput, clock: () => number = Date.now): TrainingResult {
  const started = clock();
  const horizonMs = withinMs(input.goal.within);
  let end = input.end ?? -Infinity;
  if (input.end === undefined)
    for (const events of input.histories.values())
      for (const e of events) end = Math.max(end, e.ts);
  if (!Number.isFinite(end)) end = started;
  const k = Math.max(3, input.cutoffs ?? DEFAULT_CUTOFFS);
  const cutoffs = Array.from({ length: k }, (_, i) => end - horizonMs * (i + 1));
  const holdoutAt = cutoffs[0] ?? end;
  const vocab = vocabulary(input, holdoutAt);
  const splits: Split[] = cutoffs.map(() => ({ xs: [], ys: [] }));
  const intents: Intent[] = [];
  for (const [visitor, events] of input.histories) {
    const traits = input.traits.get(visitor);
    cutoffs.forEach((c, i) => {
      const x = featuresAt(events, c, input.goal, vocab, traits);
      if (x === null) return;
      const split = splits[i];
      if (!split) return;
      split.xs.push(x);
      split.ys.push(labelAt(events, c, horizonMs, input.goal));
      // The holdout's examples, judged by the heuristic too (same visitors, same order).
      if (i === 0 && input.engine)
        intents.push(intentAt(events, c, input.engine) ?? 'least_likely');
    });
  }
  const holdout = splits[0] ?? { xs: [], ys: [] };
  const calibration = splits[1] ?? { xs: [], ys: [] };
  const fit: Split = { xs: [], ys: [] };
  for (const s of splits.slice(2)) {
    fit.xs.push(...s.xs);
    fit.ys.push(...s.ys);
  }
  const names = featureNames(vocab);
  const report = (
    status: 'model' | 'fallback',
    judged: Evaluation | null,
    reason?: string,
  ): TrainingReport => ({
    status,
    ...(reason === undefined ? {} : { reason }),
    horizonMs,
    cutoffs,
    end,
    train: figures(fit),
    calibration: figures(calibration),
    holdout: judged,
    ...(input.engine && holdout.ys.length > 0
      ? { heuristic: judgeHeuristic(intents, holdout.ys) }
      : {}),
    features: names.length,
    tookMs: clock() - started,
  });

  const minExamples = input.minExamples ?? GOAL_LIMITS.minExamples;
  const minPositives = input.minPositives ?? GOAL_LIMITS.minPositives;
  const learnt = figures(fit);
  const learntCal = figures(calibration);
  const reason =
    learnt.examples + learntCal.examples < minExamples
      ? `${learnt.examples + learntCal.examples} training examples, fewer than ${minExamples}`
      : learnt.positives + learntCal.positives < minPositives
        ? `${learnt.positives + learntCal.positives} training examples reached the goal, fewer than ${minPositives}`
        : !hasBoth(fit) || !hasBoth(calibration)
          ? 'a training split has examples of one outcome only'
          : !hasBoth(holdout)
            ? 'the holdout has examples of one outcome only: nothing to judge the model on'
            : null;
  if (reason !== null) {
    return { report: report('fallback', null, reason), model: null };
  }
  const logistic = fitLogistic(fit.xs, fit.ys);
  const platt = fitPlatt(
    calibration.xs.map((x) => logit(logistic, x)),
    calibration.ys,
  );
  const model: GoalModel = { version: 1, features: names, vocab, logistic, platt };
  const judged = evaluate(
    holdout.xs.map((x) => score(model, x)),
    holdout.ys,
  );
  return { report: report('model', judged), model };
}
