/**
 * One training of a goal's model, pure (it runs in the training's child process, goals/trainer.ts): examples
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
import type { Intent } from '../../shared/segment.ts';
import { DEFAULT_ENGINE, type EngineConfig } from '../engine/index.ts';
import {
  type FeatureEvent,
  featureNames,
  featuresOf,
  foldUntil,
  labelAt,
  stageAt,
  type Vocabulary,
} from './features.ts';
import { type Goal, withinMs } from './goal.ts';
import { type HeuristicEvaluation, judgeHeuristic } from './heuristic.ts';
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
   * The site's engine (rules and goals left out: they do not cross to a worker): the profiles are
   * folded with it, as at ingest, and the intent heuristic is judged with its thresholds. Default:
   * the engine's defaults.
   */
  engine?: EngineConfig | undefined;
}

/** A probability's bucket: `most` and `moderate` are the lowest probabilities of the two upper ones. */
export interface Thresholds {
  most: number;
  moderate: number;
}

/**
 * A fitted model as stored (JSON) and scored. Version 2: features read off the engine profile
 * (version 1, folded from raw events, is no longer served: retrained on the schedule).
 */
export interface GoalModel {
  version: 2;
  features: string[];
  vocab: Vocabulary;
  logistic: LogisticModel;
  platt: Platt;
  thresholds: Thresholds;
}

export const MODEL_VERSION = 2;

/**
 * The buckets by the training's base rate (fit and calibration splits): `most_likely` from three
 * times the base rate (at most halfway from it to certainty), `moderately_likely` from the base
 * rate itself (at least as likely as the average visitor), `least_likely` below it. Calibrated
 * probabilities make the ratio a lift, so a bucket means the same on a site where 1% buy and one
 * where 30% do; on a site whose model learnt nothing, `most_likely` stays empty.
 */
export function thresholdsFor(baseRate: number): Thresholds {
  return { most: Math.min(3 * baseRate, (1 + baseRate) / 2), moderate: baseRate };
}

export function bucketOf(p: number, t: Thresholds): Intent {
  return p >= t.most ? 'most_likely' : p >= t.moderate ? 'moderately_likely' : 'least_likely';
}

/** Per bucket, the holdout's examples and the share that reached the goal. */
export type BucketFigures = Record<Intent, { n: number; rate: number }>;

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
  /** Today's intent heuristic on the same holdout examples. */
  heuristic?: HeuristicEvaluation | undefined;
  /** The model's buckets on the holdout, and their thresholds (a model only). */
  buckets?: BucketFigures | undefined;
  thresholds?: Thresholds | undefined;
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
  const engine: EngineConfig = { ...(input.engine ?? DEFAULT_ENGINE), rules: [], goals: [] };
  // Each visitor's events folded once, oldest first, through the cut-offs in time order: at each,
  // the profile holds exactly the events before it (what ingest would have built by then).
  const ascending = cutoffs.map((c, i) => ({ c, i })).sort((a, b) => a.c - b.c);
  for (const [visitor, unsorted] of input.histories) {
    const events = unsorted.slice().sort((a, b) => a.ts - b.ts);
    const traits = input.traits.get(visitor);
    let folded: ReturnType<typeof foldUntil> = { profile: null, next: 0 };
    for (const { c, i } of ascending) {
      folded = foldUntil(folded.profile, events, folded.next, c, engine);
      const p = folded.profile;
      const split = splits[i];
      if (p === null || !split) continue;
      const stage = stageAt(p, c, engine);
      split.xs.push(featuresOf(p, c, stage, input.goal, vocab, traits, engine));
      split.ys.push(labelAt(events, c, horizonMs, input.goal));
      // The holdout's examples, judged by the heuristic too (same visitors, same order).
      if (i === 0) intents.push(stage.intent);
    }
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
    ...(holdout.ys.length > 0 ? { heuristic: judgeHeuristic(intents, holdout.ys) } : {}),
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
  const fitted = figures(fit);
  const thresholds = thresholdsFor(
    (fitted.positives + learntCal.positives) / (fitted.examples + learntCal.examples),
  );
  const model: GoalModel = {
    version: MODEL_VERSION,
    features: names,
    vocab,
    logistic,
    platt,
    thresholds,
  };
  const ps = holdout.xs.map((x) => score(model, x));
  const judged = evaluate(ps, holdout.ys);
  return {
    report: {
      ...report('model', judged),
      buckets: bucketFigures(ps, holdout.ys, thresholds),
      thresholds,
    },
    model,
  };
}

function bucketFigures(
  ps: readonly number[],
  ys: readonly boolean[],
  t: Thresholds,
): BucketFigures {
  const out: BucketFigures = {
    most_likely: { n: 0, rate: 0 },
    moderately_likely: { n: 0, rate: 0 },
    least_likely: { n: 0, rate: 0 },
  };
  ps.forEach((p, i) => {
    const b = out[bucketOf(p, t)];
    b.n++;
    if (ys[i]) b.rate++;
  });
  for (const b of Object.values(out)) b.rate = b.n > 0 ? b.rate / b.n : 0;
  return out;
}
