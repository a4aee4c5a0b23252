/**
 * `matches` (the rule preview's evaluation, computing only the facts a rule reads) answers what
 * `evaluate` answers, for every template and the docs' rules, over profiles of every kind.
 */
import { describe, expect, it } from 'vitest';
import { evaluate, matches, type EngineEvent } from '../../collector/engine/index.ts';
import { TEMPLATES } from '../../collector/rules/templates.ts';
import { build, DAY, e, HOUR, T0, withRules } from './fixtures.ts';

const RULES: Record<string, unknown> = {
  ...Object.fromEntries(TEMPLATES.map((t) => [t.id, t.rule.when])),
  hot: { fact: 'engagement', eq: 'hot' },
  key: { fact: 'segment', eq: 'newbie:cameras:hot' },
  intent: { fact: 'intent', eq: 'most_likely' },
  cat: { fact: 'category', eq: 'cameras' },
  aff: { fact: 'affinity.cameras', gte: 0.5 },
  known: { fact: 'known', eq: true },
  days: { fact: 'days.sinceLastSeen', lt: 3 },
  money: {
    any: [
      { fact: 'purchases.total', gt: 100 },
      { fact: 'rfm.m', gte: 2 },
    ],
  },
};

function profiles(): EngineEvent[][] {
  const out: EngineEvent[][] = [];
  for (let i = 0; i < 40; i++) {
    const events: EngineEvent[] = [];
    for (let j = 0; j < (i % 9) + 1; j++) {
      const ts = T0 + j * ((i % 5) + 1) * 7 * HOUR;
      const kind = (i * 7 + j) % 6;
      events.push(
        kind === 0
          ? e({ ts, type: 'add_to_cart', category: 'cameras', value: 200 })
          : kind === 1 && i % 3 === 0
            ? e({ ts, type: 'purchase', category: i % 2 ? 'cameras' : 'tv', value: 80 * i })
            : e({ ts, category: i % 4 === 0 ? 'tv' : 'cameras' }),
      );
    }
    out.push(events);
  }
  return out;
}

describe('matches = evaluate', () => {
  const cfg = withRules(RULES);
  it.each([0, 1, 3, 10, 40, 90, 200])('at %s days, known and not', (days) => {
    for (const events of profiles()) {
      const p = build(events, cfg);
      for (const known of [false, true]) {
        const traits = known ? { gender: 'f', married: true, age: 30, region: 'MD' } : undefined;
        const now = T0 + days * DAY;
        const seg = evaluate(p, { site: 's', visitor: 'v', known }, cfg, now, { traits });
        for (const rule of cfg.rules)
          expect(matches(rule, p, known, cfg, now, { traits }), `${rule.name} at ${days}d`).toBe(
            seg.segments.includes(rule.name),
          );
      }
    }
  });
});
