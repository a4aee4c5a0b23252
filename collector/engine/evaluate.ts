/**
 * The read path: profile + config + now → Segment. Pure arithmetic over one profile.
 *
 * "Within N days" means strictly younger than N days everywhere: an event exactly 7 days old
 * has left a 7-day window, and a visitor unseen exactly 60 days is at risk.
 */
import {
  MIXED,
  segmentKey,
  type GoalScore,
  type Engagement,
  type Intent,
  type Lifecycle,
  type Segment,
} from '../../shared/segment.ts';
import { DAY, type EngineConfig } from './config.ts';
import { decayRate, shares } from './affinity.ts';
import { upgradeProfile, type Profile } from './profile.ts';
import { rfmOf, type RfmBreakpoints } from './rfm.ts';
import { type CompiledRule, countMatching, type RuleContext } from './rules.ts';
import { must } from '../../shared/must.ts';
import { scoreGoals } from '../goals/serve.ts';

/** Who the segment is for; the engine itself knows nothing of ids. */
export interface Subject {
  site: string;
  visitor: string;
  known: boolean;
}

/** What the read path may know besides the profile: a contact's traits, the site's RFM quintiles. */
export interface Extras {
  traits?: Record<string, unknown> | undefined;
  rfm?: RfmBreakpoints | null | undefined;
}

function dominantCategory(affinity: Record<string, number>, config: EngineConfig): string | null {
  const first = Object.entries(affinity)[0];
  if (first === undefined) return null;
  const [top, share] = first;
  return share >= config.dominantShare ? top : MIXED;
}

function engagementOf(
  profile: Profile,
  top: string | null,
  config: EngineConfig,
  now: number,
): Engagement {
  if (profile.count === 0) return 'cold';
  const idle = now - profile.lastSeen;
  if (
    top &&
    countMatching(profile.window, now, config.hotDays * DAY, (e) => e[2] === top) >=
      config.hotEvents
  )
    return 'hot';
  if (idle < config.activeDays * DAY) return 'active';
  if (idle < config.warmDays * DAY) return 'warm';
  return 'cold';
}

/**
 * No purchase: newbie, then prospect by age. A customer: new_customer (one purchase) or
 * loyalist (repeat), at_risk when unseen atRiskDays, lapsed when unseen lapsedDays. Seen
 * again, an at-risk or lapsed customer moves back to new_customer or loyalist.
 */
function lifecycleOf(profile: Profile, config: EngineConfig, now: number): Lifecycle {
  const p = profile.purchases;
  if (p.n === 0) return now - profile.firstSeen < config.newbieDays * DAY ? 'newbie' : 'prospect';
  const idle = now - profile.lastSeen;
  if (idle >= config.lapsedDays * DAY) return 'lapsed';
  if (idle >= config.atRiskDays * DAY) return 'at_risk';
  return p.n >= 2 ? 'loyalist' : 'new_customer';
}

function cooldownOf(profile: Profile, config: EngineConfig, now: number): boolean {
  const at = profile.purchases.highEndAt;
  return at !== null && now - at < config.cooldownDays * DAY;
}

/**
 * First match wins: cooldown → least_likely (don't push); a cart or checkout within
 * intentDays with no purchase since → most_likely; hot → most_likely for an active customer,
 * moderately_likely otherwise; an active customer → moderately_likely; else least_likely.
 */
function intentOf(
  profile: Profile,
  lifecycle: Lifecycle,
  engagement: Engagement,
  cooldown: boolean,
  config: EngineConfig,
  now: number,
): Intent {
  if (cooldown) return 'least_likely';
  let lastIntent = -Infinity;
  let lastPurchase = -Infinity;
  const from = now - config.intentDays * DAY;
  // The window log is in time order: walk back from the newest entry to the window's start.
  for (let i = profile.window.length - 1; i >= 0; i--) {
    const e = must(profile.window[i], 'window entry');
    if (e[0] > now) continue;
    if (e[0] <= from) break;
    if (e[1] === 'purchase') lastPurchase = Math.max(lastPurchase, e[0]);
    else if (config.intentEvents.includes(e[1])) lastIntent = Math.max(lastIntent, e[0]);
  }
  if (lastIntent > lastPurchase) return 'most_likely';
  const customer = lifecycle === 'new_customer' || lifecycle === 'loyalist';
  if (engagement === 'hot') return customer ? 'most_likely' : 'moderately_likely';
  if (engagement === 'active' && customer) return 'moderately_likely';
  return 'least_likely';
}

export function evaluate(
  profile: Profile,
  subject: Subject,
  config: EngineConfig,
  now: number,
  extras: Extras = {},
): Segment {
  const p = upgradeProfile(profile);
  const affinity = shares(p.scores, now, decayRate(config));
  const category = dominantCategory(affinity, config);
  // The hot test looks at the top category even when no category dominates.
  const top = Object.keys(affinity)[0] ?? null;
  const engagement = engagementOf(p, top, config, now);
  const lifecycle = lifecycleOf(p, config, now);
  const cooldown = cooldownOf(p, config, now);
  const rfm = rfmOf(p.purchases, now, config.rfm, extras.rfm);
  const intent = intentOf(p, lifecycle, engagement, cooldown, config, now);
  const key = segmentKey(lifecycle, category, engagement);
  const segment: Segment = {
    site: subject.site,
    visitor: subject.visitor,
    known: subject.known,
    segment: key,
    lifecycle,
    category,
    engagement,
    affinity,
    cooldown,
    rfm,
    intent,
    segments: [],
    updated: p.lastSeen,
  };
  const goals = config.goals?.length
    ? scoreGoals(config.goals, p, now, segment, extras.traits, config)
    : undefined;
  if (goals) segment.goals = goals;
  if (config.rules.length > 0) {
    const days = (t: number | null) => (t === null || p.count === 0 ? null : (now - t) / DAY);
    const ctx: RuleContext = {
      facts: {
        lifecycle,
        category,
        engagement,
        intent,
        segment: key,
        cooldown,
        known: subject.known,
        'rfm.r': rfm?.r ?? null,
        'rfm.f': rfm?.f ?? null,
        'rfm.m': rfm?.m ?? null,
        'rfm.label': rfm?.label ?? null,
        'purchases.count': p.purchases.n,
        'purchases.total': p.purchases.total,
        'purchases.lastValue': p.purchases.lastValue,
        'days.sinceFirstSeen': days(p.firstSeen),
        'days.sinceLastSeen': days(p.lastSeen),
        'days.sinceLastPurchase': days(p.purchases.last),
        'events.count': p.count,
      },
      affinity,
      traits: extras.traits,
      window: p.window,
      now,
      goals,
    };
    for (const rule of config.rules) if (rule.test(ctx)) segment.segments.push(rule.name);
  }
  return segment;
}

/**
 * A rule's view of a profile with each fact computed only when a rule reads it, once: the rule
 * preview evaluates one rule over every profile of a site, and most rules read two or three facts
 * (a window count needs no affinity, an RFM label no window walk). The same values as `evaluate`.
 */
class LazyFacts {
  #affinity: Record<string, number> | undefined;
  #engagement: Engagement | undefined;
  #lifecycle: Lifecycle | undefined;
  #rfm: ReturnType<typeof rfmOf> | undefined;
  #cooldown: boolean | undefined;
  #intent: Intent | undefined;
  constructor(
    readonly p: Profile,
    readonly known: boolean,
    readonly config: EngineConfig,
    readonly now: number,
    readonly extras: Extras,
  ) {}
  get affinity(): Record<string, number> {
    this.#affinity ??= shares(this.p.scores, this.now, decayRate(this.config));
    return this.#affinity;
  }
  get category() {
    return dominantCategory(this.affinity, this.config);
  }
  get engagement(): Engagement {
    this.#engagement ??= engagementOf(
      this.p,
      Object.keys(this.affinity)[0] ?? null,
      this.config,
      this.now,
    );
    return this.#engagement;
  }
  get lifecycle(): Lifecycle {
    this.#lifecycle ??= lifecycleOf(this.p, this.config, this.now);
    return this.#lifecycle;
  }
  get cooldown(): boolean {
    this.#cooldown ??= cooldownOf(this.p, this.config, this.now);
    return this.#cooldown;
  }
  get intent(): Intent {
    this.#intent ??= intentOf(
      this.p,
      this.lifecycle,
      this.engagement,
      this.cooldown,
      this.config,
      this.now,
    );
    return this.#intent;
  }
  get segment() {
    return segmentKey(this.lifecycle, this.category, this.engagement);
  }
  #rfmOf() {
    if (this.#rfm === undefined)
      this.#rfm = rfmOf(this.p.purchases, this.now, this.config.rfm, this.extras.rfm);
    return this.#rfm;
  }
  get 'rfm.r'() {
    return this.#rfmOf()?.r ?? null;
  }
  get 'rfm.f'() {
    return this.#rfmOf()?.f ?? null;
  }
  get 'rfm.m'() {
    return this.#rfmOf()?.m ?? null;
  }
  get 'rfm.label'() {
    return this.#rfmOf()?.label ?? null;
  }
  get 'purchases.count'() {
    return this.p.purchases.n;
  }
  get 'purchases.total'() {
    return this.p.purchases.total;
  }
  get 'purchases.lastValue'() {
    return this.p.purchases.lastValue;
  }
  #days(t: number | null) {
    return t === null || this.p.count === 0 ? null : (this.now - t) / DAY;
  }
  get 'days.sinceFirstSeen'() {
    return this.#days(this.p.firstSeen);
  }
  get 'days.sinceLastSeen'() {
    return this.#days(this.p.lastSeen);
  }
  get 'days.sinceLastPurchase'() {
    return this.#days(this.p.purchases.last);
  }
  get 'events.count'() {
    return this.p.count;
  }
  #goals: Record<string, GoalScore> | undefined | null = null;
  /** Each goal's answer, read off these facts (they are a `Stage`), on first use. */
  get goals(): Record<string, GoalScore> | undefined {
    if (this.#goals === null) {
      const goals = this.config.goals;
      this.#goals = goals?.length
        ? scoreGoals(goals, this.p, this.now, this, this.extras.traits, this.config)
        : undefined;
    }
    return this.#goals;
  }
}

/**
 * Whether `rule` matches the profile at `now`: what `evaluate(…).segments.includes(rule.name)`
 * answers with `rule` among the config's rules, computing only the facts the rule reads.
 */
export function matches(
  rule: CompiledRule,
  profile: Profile,
  known: boolean,
  config: EngineConfig,
  now: number,
  extras: Extras = {},
): boolean {
  const p = upgradeProfile(profile);
  const facts = new LazyFacts(p, known, config, now, extras);
  const ctx: RuleContext = {
    facts: facts as unknown as Record<string, unknown>,
    get affinity() {
      return facts.affinity;
    },
    traits: extras.traits,
    window: p.window,
    now,
    get goals() {
      return facts.goals;
    },
  };
  return rule.test(ctx);
}
