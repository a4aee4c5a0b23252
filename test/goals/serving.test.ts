/**
 * The pure parts of serving goals (issue 20): campaign touches kept in the profile, features read
 * off a profile as training reads them whatever order the events arrived in, the buckets and their
 * thresholds, `goal.<name>.*` facts in rules, a read's memo held no longer than GOAL_HOLD_MS, and
 * rules on goals hidden from browsers unless public.
 */
import { describe, expect, it } from 'vitest';
import { hiddenSegments } from '../../collector/config/config.ts';
import {
  applyEvent,
  compileRules,
  DEFAULT_ENGINE,
  emptyProfile,
  type EngineConfig,
  evaluate,
  mergeProfiles,
  type Profile,
  stableUntil,
} from '../../collector/engine/index.ts';
import { TOUCH_CAMPAIGN, TOUCH_DISCOUNT } from '../../collector/engine/profile.ts';
import { TOUCH_CAP } from '../../collector/engine/touches.ts';
import {
  engineEvent,
  type FeatureEvent,
  featureNames,
  featuresAt,
  featuresOf,
  stageAt,
  type Vocabulary,
} from '../../collector/goals/features.ts';
import { GOAL_HOLD_MS, type ServedGoal } from '../../collector/goals/serve.ts';
import { bucketOf, type GoalModel, thresholdsFor } from '../../collector/goals/train.ts';
import { ev, rng } from './synthetic.ts';

const DAY = 86_400_000;
const NOW = Date.UTC(2026, 5, 1);
const GOAL = { event: 'purchase', category: 'cameras', within: '7d' };
const VOCAB: Vocabulary = { categories: ['cameras', 'shoes'], traits: [] };

const fold = (events: readonly FeatureEvent[], config: EngineConfig = DEFAULT_ENGINE): Profile => {
  let p: Profile | null = null;
  for (const e of events) p = applyEvent(p ?? emptyProfile(e.ts), engineEvent(e), config);
  if (p === null) throw new Error('no events');
  return p;
};

/** A model whose logit is `bias + weight × events_7d` (log1p), Platt the identity. */
function model(weight: number, bias: number): GoalModel {
  const features = featureNames(VOCAB);
  const weights = features.map((f) => (f === 'events_7d' ? weight : 0));
  return {
    version: 2,
    features,
    vocab: VOCAB,
    logistic: { mean: features.map(() => 0), scale: features.map(() => 1), weights, bias },
    platt: { a: 1, b: 0 },
    thresholds: thresholdsFor(0.1),
  };
}
const served = (m: GoalModel | null, pub = false): ServedGoal => ({
  name: 'camera-buyer',
  goal: GOAL,
  model: m,
  public: pub,
});

describe('campaign touches in the profile', () => {
  it('keeps a campaign, a discount campaign and a discount prop; nothing for a plain event', () => {
    const p = fold([
      ev(NOW - 3 * DAY, 'page_view', 'cameras'),
      ev(NOW - 2 * DAY, 'email_click', null, { utm: { campaign: 'newsletter' } }),
      ev(NOW - DAY, 'email_click', null, { utm: { campaign: 'spring-SALE' } }),
      ev(NOW - 1000, 'page_view', 'cameras', { props: { discount: 'WELCOME10' } }),
    ]);
    expect(p.touches).toEqual([
      [NOW - 2 * DAY, TOUCH_CAMPAIGN],
      [NOW - DAY, TOUCH_CAMPAIGN | TOUCH_DISCOUNT],
      [NOW - 1000, TOUCH_DISCOUNT],
    ]);
    expect(fold([ev(NOW, 'page_view', 'cameras')])).not.toHaveProperty('touches');
  });

  it('trims them as the window log: windowDays behind the newest event, and a cap', () => {
    const old = ev(NOW - 31 * DAY, 'page_view', null, { utm: { source: 'ads' } });
    expect(fold([old, ev(NOW, 'page_view', null)]).touches).toBeUndefined();
    const many = Array.from({ length: TOUCH_CAP + 5 }, (_, i) =>
      ev(NOW - i * 1000, 'page_view', null, { utm: { source: 'ads' } }),
    ).reverse();
    const p = fold(many);
    expect(p.touches).toHaveLength(TOUCH_CAP);
    expect(p.touches?.[0]?.[0]).toBe(NOW - (TOUCH_CAP - 1) * 1000);
  });

  it('a merge keeps both profiles’ touches in time order', () => {
    const a = fold([ev(NOW - DAY, 'page_view', null, { utm: { source: 'a' } })]);
    const b = fold([ev(NOW - 2 * DAY, 'page_view', null, { utm: { campaign: 'promo' } })]);
    expect(mergeProfiles(a, b, DEFAULT_ENGINE).touches).toEqual([
      [NOW - 2 * DAY, TOUCH_CAMPAIGN | TOUCH_DISCOUNT],
      [NOW - DAY, TOUCH_CAMPAIGN],
    ]);
  });
});

describe('features read off a profile', () => {
  it('are those of training whatever order the events arrived in', () => {
    const r = rng(3);
    const types = ['page_view', 'page_view', 'add_to_cart', 'purchase', 'email_click'];
    for (let n = 0; n < 50; n++) {
      const events: FeatureEvent[] = [];
      for (let i = 0; i < 1 + Math.floor(r() * 30); i++)
        events.push(
          ev(
            NOW - Math.floor(r() * 25 * DAY),
            types[Math.floor(r() * 5)] ?? 'page_view',
            ['cameras', 'shoes', null][Math.floor(r() * 3)] ?? null,
            {
              value: r() < 0.3 ? 100 : null,
              utm: r() < 0.2 ? { campaign: r() < 0.5 ? 'sale' : 'news' } : null,
            },
          ),
        );
      const shuffled = events.slice().sort(() => r() - 0.5);
      const live = fold(shuffled);
      const x = featuresOf(
        live,
        NOW,
        stageAt(live, NOW, DEFAULT_ENGINE),
        GOAL,
        VOCAB,
        undefined,
        DEFAULT_ENGINE,
      );
      const trained = featuresAt(events, NOW, GOAL, VOCAB, undefined, DEFAULT_ENGINE);
      expect(trained).not.toBeNull();
      for (const [i, v] of x.entries()) expect(v).toBeCloseTo(trained?.[i] ?? Number.NaN, 9);
    }
  });

  it('count "within 7 days" as the engine does: strictly younger', () => {
    const names = featureNames(VOCAB);
    const at = (events: FeatureEvent[]) => {
      const x = featuresAt(events, NOW, GOAL, VOCAB, undefined) ?? [];
      return x[names.indexOf('events_7d')];
    };
    expect(at([ev(NOW - 7 * DAY, 'page_view', null)])).toBe(0);
    expect(at([ev(NOW - 7 * DAY + 1, 'page_view', null)])).toBeCloseTo(Math.log1p(1));
  });
});

describe('buckets', () => {
  it('by the base rate: 3× it (at most halfway to certainty) and the base rate itself', () => {
    expect(thresholdsFor(0.1)).toEqual({ most: 0.30000000000000004, moderate: 0.1 });
    expect(thresholdsFor(0.4)).toEqual({ most: 0.7, moderate: 0.4 });
    const t = thresholdsFor(0.1);
    expect(bucketOf(t.most, t)).toBe('most_likely');
    expect(bucketOf(t.most - 1e-9, t)).toBe('moderately_likely');
    expect(bucketOf(0.1, t)).toBe('moderately_likely');
    expect(bucketOf(0.099, t)).toBe('least_likely');
  });
});

describe('evaluate with goals', () => {
  const busy = fold([
    ev(NOW - 3 * DAY, 'page_view', 'cameras'),
    ev(NOW - 2 * DAY, 'page_view', 'cameras'),
    ev(NOW - DAY, 'page_view', 'cameras'),
  ]);
  const subject = { site: 's', visitor: 'v', known: false };

  it('answers each goal; without goals the answer has no `goals` at all', () => {
    const engine = { ...DEFAULT_ENGINE, goals: [served(model(2, -2))] };
    const s = evaluate(busy, subject, engine, NOW);
    const p = Math.round((1 / (1 + Math.exp(-(2 * Math.log1p(3) - 2)))) * 1000) / 1000;
    expect(s.goals).toEqual({ 'camera-buyer': { p, bucket: 'most_likely', source: 'model' } });
    expect(evaluate(busy, subject, DEFAULT_ENGINE, NOW)).not.toHaveProperty('goals');
    expect(
      evaluate(busy, subject, { ...DEFAULT_ENGINE, goals: [served(null)] }, NOW).goals,
    ).toEqual({
      'camera-buyer': { p: null, bucket: s.intent, source: 'intent' },
    });
  });

  it('lets rules read goal.<name>.p and .bucket; a goal not there matches nothing', () => {
    const { rules, problems } = compileRules(
      {
        likely: { when: { fact: 'goal.camera-buyer.p', gte: 0.5 } },
        top: { when: { fact: 'goal.camera-buyer.bucket', eq: 'most_likely' } },
        later: { when: { fact: 'goal.not-yet.p', gte: 0 } },
      },
      30,
    );
    expect(problems).toEqual([]);
    const engine = { ...DEFAULT_ENGINE, rules, goals: [served(model(2, -2))] };
    expect(evaluate(busy, subject, engine, NOW).segments).toEqual(['likely', 'top']);
    const low = { ...engine, goals: [served(model(0, -4))] };
    expect(evaluate(busy, subject, low, NOW).segments).toEqual([]);
    const bad = compileRules(
      {
        a: { when: { fact: 'goal.camera-buyer.bucket', eq: 'likely' } },
        b: { when: { fact: 'goal.camera-buyer.q', gte: 1 } },
      },
      30,
    ).problems.map((p) => p.path);
    expect(bad).toEqual(['a.when.eq', 'b.when.fact']);
  });

  it("holds a read's memo at most GOAL_HOLD_MS when a model serves", () => {
    const plain = stableUntil(busy, DEFAULT_ENGINE, NOW);
    expect(plain).toBeGreaterThan(NOW + GOAL_HOLD_MS);
    const withModel = { ...DEFAULT_ENGINE, goals: [served(model(2, -2))] };
    expect(stableUntil(busy, withModel, NOW)).toBe(NOW + GOAL_HOLD_MS);
    const heuristicOnly = { ...DEFAULT_ENGINE, goals: [served(null)] };
    expect(stableUntil(busy, heuristicOnly, NOW)).toBe(plain);
  });

  it('hides a rule on a goal from browsers unless the rule is public', () => {
    const defs: Record<string, { when: unknown; public?: boolean }> = {
      likely: { when: { fact: 'goal.camera-buyer.p', gte: 0.5 } },
      shown: { when: { fact: 'goal.camera-buyer.bucket', eq: 'most_likely' }, public: true },
    };
    const { rules } = compileRules(defs, 30);
    expect([...hiddenSegments(rules, defs, [])]).toEqual(['likely']);
  });
});
