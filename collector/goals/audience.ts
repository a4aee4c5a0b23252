/**
 * A goal's audience (docs/goals.md): of the site's current profiles matching a filter (a custom
 * segment, traits such as `region`), how many are in each bucket now, and how many are expected to
 * reach the goal (the sum of their probabilities) — the seed's "how many New York users will buy
 * tickets". Every profile is evaluated as a read would (its traits, known for a contact's profile),
 * with the goal as served in this process (goals/runtime.ts).
 *
 * Bounded as the rule preview is: pages of 2,000 profiles, at most `GOAL_LIMITS.audienceProfiles`
 * and `audienceMs` (then `partial: true`), `audiencesAtOnce` per process (then `AudienceBusy`).
 */
import { GOAL_LIMITS } from '../../shared/limits.ts';
import type { Intent } from '../../shared/segment.ts';
import type { SiteConfig } from '../config/config.ts';
import { evaluate, matches } from '../engine/index.ts';
import { contactOfKey } from '../identity/token.ts';
import type { Storage } from '../storage/contract.ts';

export interface AudienceFilter {
  /** A custom segment's name (config or runtime rule): only its members count. */
  segment?: string | undefined;
  /** Trait name → value: only profiles whose trait equals it (as text) count. */
  traits?: Record<string, string> | undefined;
}

export interface Audience {
  goal: string;
  /** `model`: the buckets are the model's; `intent`: no model to trust, the heuristic's. */
  source: 'model' | 'intent';
  /** Profiles matching the filter. */
  total: number;
  buckets: Record<Intent, number>;
  /** The sum of their probabilities: how many are expected to reach the goal (null without a model). */
  expected: number | null;
  scanned: number;
  /** Stopped early (time or rows): the counts are of the profiles scanned. */
  partial: boolean;
  tookMs: number;
}

export class AudienceBusy extends Error {
  override name = 'AudienceBusy';
}
export class UnknownGoal extends Error {
  override name = 'UnknownGoal';
}
export class UnknownSegment extends Error {
  override name = 'UnknownSegment';
}

const PAGE = 2000;
let running = 0;

export async function goalAudience(
  storage: Storage,
  site: SiteConfig,
  goalName: string,
  filter: AudienceFilter,
  now: number,
  opts: { maxMs?: number; maxProfiles?: number; clock?: () => number } = {},
): Promise<Audience> {
  const served = site.engine.goals?.find((g) => g.name === goalName);
  if (!served) throw new UnknownGoal(`no goal "${goalName}" on site "${site.id}"`);
  const rule =
    filter.segment === undefined
      ? undefined
      : site.engine.rules.find((r) => r.name === filter.segment);
  if (filter.segment !== undefined && !rule)
    throw new UnknownSegment(`no custom segment "${filter.segment}" on site "${site.id}"`);
  if (running >= GOAL_LIMITS.audiencesAtOnce)
    throw new AudienceBusy(`${GOAL_LIMITS.audiencesAtOnce} audience counts are running`);
  running++;
  try {
    const clock = opts.clock ?? (() => performance.now());
    const started = clock();
    const maxMs = opts.maxMs ?? GOAL_LIMITS.audienceMs;
    const maxProfiles = opts.maxProfiles ?? GOAL_LIMITS.audienceProfiles;
    // This goal alone, no rules: the rest of the segment is not asked for.
    const engine = { ...site.engine, rules: [], goals: [served] };
    const wanted = Object.entries(filter.traits ?? {});
    const rfm = await storage.rfmBreakpoints(site.id);
    const out: Audience = {
      goal: goalName,
      source: served.model === null ? 'intent' : 'model',
      total: 0,
      buckets: { most_likely: 0, moderately_likely: 0, least_likely: 0 },
      expected: served.model === null ? null : 0,
      scanned: 0,
      partial: false,
      tookMs: 0,
    };
    let after = '';
    for (;;) {
      if (out.scanned >= maxProfiles || clock() - started >= maxMs) {
        out.partial = true;
        break;
      }
      const limit = Math.min(PAGE, maxProfiles - out.scanned);
      const page = await storage.scanProfiles(site.id, after, limit, {
        traits: true,
        columns: false,
      });
      for (const p of page) {
        if (p.profile === null) continue;
        const traits = p.traits;
        if (wanted.some(([k, v]) => String(traits?.[k] ?? '') !== v)) continue;
        const known = contactOfKey(p.visitor) !== null;
        const extras = { traits, rfm };
        if (rule && !matches(rule, p.profile, known, site.engine, now, extras)) continue;
        const s = evaluate(
          p.profile,
          { site: site.id, visitor: p.visitor, known },
          engine,
          now,
          extras,
        ).goals?.[goalName];
        if (!s) continue;
        out.total++;
        out.buckets[s.bucket]++;
        if (out.expected !== null && s.p !== null) out.expected += s.p;
      }
      out.scanned += page.length;
      const last = page.at(-1);
      if (last === undefined || page.length < limit) break;
      after = last.visitor;
    }
    if (out.expected !== null) out.expected = Math.round(out.expected * 10) / 10;
    out.tookMs = Math.round(clock() - started);
    return out;
  } finally {
    running--;
  }
}
