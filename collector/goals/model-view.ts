/**
 * What `GET /v1/goals/:name/model` and `microseg train` show of a goal's last training: whether a
 * model serves or the intent heuristic does (and why), its holdout evaluation, and the features
 * that weigh most. A model trained for another version of the goal is `stale`: it is shown, not
 * trusted, until the next training.
 */
import type { StoredGoalModel } from '../storage/contract.ts';
import { type Goal, goalKey } from './goal.ts';
import { type GoalModel, MODEL_VERSION, type TrainingReport } from './train.ts';

export interface ModelView {
  /** `model`: a trained model serves; `fallback`: the intent heuristic serves; `untrained`: no training yet. */
  status: 'model' | 'fallback' | 'untrained';
  /** What serves the goal's probability instead of a model (null: the model does). */
  fallback: 'intent' | null;
  reason?: string;
  /** Trained for another version of the goal (changed since): the heuristic serves until retrained. */
  stale: boolean;
  trained: number | null;
  evaluation: TrainingReport | null;
  /** The features of largest weight (on standardized values), strongest first. */
  topFeatures?: { name: string; weight: number }[];
}

export function modelView(goal: Goal, row: StoredGoalModel | undefined): ModelView {
  if (!row)
    return {
      status: 'untrained',
      fallback: 'intent',
      reason: 'not trained yet: the schedule trains every goal, or run `microseg train`',
      stale: false,
      trained: null,
      evaluation: null,
    };
  const evaluation = JSON.parse(row.evaluation) as TrainingReport;
  const model = row.model === null ? null : (JSON.parse(row.model) as GoalModel);
  // A model of an earlier version of the features is not served either: stale until retrained.
  const older = model !== null && model.version !== MODEL_VERSION;
  const stale = row.definition !== goalKey(goal) || older;
  const view: ModelView = {
    status: row.status,
    fallback: row.status === 'model' && !stale ? null : 'intent',
    stale,
    trained: row.trained,
    evaluation,
  };
  if (row.status === 'fallback' && evaluation.reason) view.reason = evaluation.reason;
  else if (older)
    view.reason = 'trained by an earlier version of microseg: the next training replaces it';
  else if (stale) view.reason = 'the goal changed since this model was trained';
  if (model)
    view.topFeatures = model.features
      .map((name, i) => ({ name, weight: model.logistic.weights[i] ?? 0 }))
      .sort((a, b) => Math.abs(b.weight) - Math.abs(a.weight))
      .slice(0, 10);
  return view;
}
