/**
 * A goal (issue 20, docs/goals.md): an event a site wants its visitors to reach, with an optional
 * category and props filter, and a horizon, e.g. `{"event": "purchase", "category": "cameras",
 * "within": "14d"}`. The same schema checks the config file's `goals` and the API's bodies, so
 * both report a problem by its path.
 */
import { z } from 'zod';
import { GOAL_LIMITS, LIMITS } from '../../shared/limits.ts';
import type { PropValue } from '../../shared/wire.ts';
import { DAY } from '../engine/config.ts';
import { parseDuration, RULE_NAME } from '../engine/rules.ts';

/** A horizon: a whole number of hours (`h`) or days (`d`), at most `GOAL_LIMITS.maxWithinDays`. */
const within = z
  .string()
  .regex(/^[1-9][0-9]{0,4}[hd]$/, 'a horizon such as "14d" or "48h"')
  .refine(
    (w) => withinMs(w) <= GOAL_LIMITS.maxWithinDays * DAY,
    `at most ${GOAL_LIMITS.maxWithinDays} days`,
  );

const propValue = z.union([z.string().max(LIMITS.propValueLength), z.number(), z.boolean()]);

export const goalSchema = z
  .object({
    /** The event type that reaches the goal (`purchase`, `signup`, …). */
    event: z.string().min(1).max(LIMITS.typeLength),
    /** Only events of this category count. */
    category: z.string().min(1).max(LIMITS.categoryLength).optional(),
    /** Only events whose props have these values count. */
    props: z
      .record(z.string().min(1).max(LIMITS.propKeyLength), propValue)
      .refine(
        (p) => Object.keys(p).length <= GOAL_LIMITS.props,
        `at most ${GOAL_LIMITS.props} props`,
      )
      .optional(),
    /** How soon after the moment scored the event must happen. */
    within,
    /**
     * Traits one-hot encoded as features (their most frequent values). Read as they stand now,
     * not as they stood at each cut-off: name only traits that do not follow from the goal.
     */
    traits: z
      .array(z.string().regex(/^[A-Za-z][A-Za-z0-9_]*$/, 'a letter, then letters, digits and _'))
      .max(GOAL_LIMITS.traits)
      .optional(),
    description: z.string().max(500).optional(),
    /**
     * Browsers see this goal's probability and bucket (the segment answer of `GET /v1/segment` and
     * `/v1/collect`); by default only API-key reads and webhooks do: a propensity to buy is read
     * off purchases and traits, which a browser's answer does not reveal.
     */
    public: z.boolean().optional(),
  })
  .strict();

export type Goal = z.output<typeof goalSchema>;

/** A goal name: as a rule's. */
export const GOAL_NAME = RULE_NAME;

/**
 * A horizon in ms; NaN for a malformed one (zod runs the schema's bound even after its pattern
 * failed, so this must not throw; the schema lets only whole hours or days through).
 */
export const withinMs = (w: string): number => parseDuration(w) ?? Number.NaN;

export interface GoalProblem {
  /** Where in the body: `within`, `props.color`, … (empty: the body itself). */
  path: string;
  message: string;
}

/** Checks a goal's body; problems name their place in it. */
export function checkGoal(body: unknown): { goal: Goal } | { problems: GoalProblem[] } {
  const parsed = goalSchema.safeParse(body);
  if (parsed.success) return { goal: parsed.data };
  return {
    problems: parsed.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message })),
  };
}

export function badGoalName(name: string): string | null {
  return GOAL_NAME.test(name)
    ? null
    : 'a goal name has 1–64 letters, digits, dot, dash and underscore';
}

/** What of an event a goal looks at. */
export interface GoalEventView {
  type: string;
  category?: string | null | undefined;
  props?: Record<string, PropValue> | null | undefined;
}

export function reachesGoal(e: GoalEventView, goal: Goal): boolean {
  if (e.type !== goal.event) return false;
  if (goal.category !== undefined && e.category !== goal.category) return false;
  if (goal.props)
    for (const [k, v] of Object.entries(goal.props)) if (e.props?.[k] !== v) return false;
  return true;
}

/**
 * What a model is trained for: the goal's JSON with its keys sorted, without the parts that do not
 * change what is learnt (`description`, `public`). A model records it, so a change of goal shows.
 */
export function goalKey(goal: Goal): string {
  const { description: _d, public: _p, ...learnt } = goal;
  const sort = (v: unknown): unknown =>
    v !== null && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(
          Object.entries(v)
            .filter(([, x]) => x !== undefined)
            .sort(([a], [b]) => (a < b ? -1 : 1))
            .map(([k, x]) => [k, sort(x)]),
        )
      : v;
  return JSON.stringify(sort(learnt));
}
