/**
 * The site config file: which sites exist, where their pages live, and their segment
 * thresholds. Validated at start; an error names the bad field by its path.
 */
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { LIMITS } from '../../shared/limits.ts';
import {
  type CompiledRule,
  compileRules,
  DEFAULT_ENGINE,
  type EngineConfig,
} from '../engine/index.ts';
import {
  compileWebhooks,
  DEFAULT_DELIVERY,
  deliverySchema,
  webhookSchema,
  webhookSecretSchema,
  type DeliveryPolicy,
  type Webhook,
} from '../webhooks/config.ts';
import { type CategoryRule, categoryPattern, matchCategory } from './category-rules.ts';
import { DEFAULT_QUARANTINE, type QuarantinePolicy } from '../storage/quarantine.ts';
import { GOAL_NAME, type Goal, goalSchema } from '../goals/goal.ts';

const siteId = z
  .string()
  .min(1)
  .max(LIMITS.idLength)
  .regex(/^[A-Za-z0-9._-]+$/, 'letters, digits, dot, dash and underscore only');

const origin = z.string().refine((s) => {
  try {
    return new URL(s).origin === s;
  } catch {
    return false;
  }
}, 'an origin like "https://shop.example" (scheme, host, optional port; no path or trailing slash)');

const categoryRule = z.object({
  /** A URL path pattern: `*` matches any run of characters, e.g. `/cameras/*` (category-rules.ts). */
  path: z.string().startsWith('/'),
  category: z.string().min(1).max(LIMITS.categoryLength),
});

const fourAscending = z
  .tuple([
    z.number().nonnegative(),
    z.number().nonnegative(),
    z.number().nonnegative(),
    z.number().nonnegative(),
  ])
  .refine((t) => t[0] < t[1] && t[1] < t[2] && t[2] < t[3], 'four thresholds in ascending order');

const engineSchema = z
  .object({
    halfLifeDays: z.number().positive(),
    weights: z.record(z.string(), z.number().nonnegative()),
    defaultWeight: z.number().nonnegative(),
    dominantShare: z.number().gt(0).max(1),
    hotEvents: z.number().int().positive(),
    hotDays: z.number().positive(),
    activeDays: z.number().positive(),
    warmDays: z.number().positive(),
    newbieDays: z.number().positive(),
    maxCategories: z.number().int().positive().max(1000),
    atRiskDays: z.number().positive(),
    lapsedDays: z.number().positive(),
    highEndValue: z.number().nonnegative().nullable(),
    cooldownDays: z.number().nonnegative(),
    intentDays: z.number().positive(),
    intentEvents: z.array(z.string().min(1).max(LIMITS.typeLength)),
    rfm: z
      .object({
        minCustomers: z.number().int().min(5, 'quintiles need at least 5 customers'),
        recencyDays: fourAscending,
        frequency: fourAscending,
        monetary: fourAscending,
      })
      .partial()
      .strict(),
    windowDays: z.number().positive(),
    windowCap: z.number().int().positive().max(10_000),
  })
  .partial()
  .strict();

/** A custom segment: `when` is a condition tree, compiled (and checked) by the engine. */
export const ruleSchema = z
  .object({
    when: z
      .unknown()
      .refine(
        (v) => v !== undefined,
        'a condition: { "all": [...] }, { "fact": ... }, { "count": ... }, …',
      ),
    description: z.string().max(500).optional(),
    /**
     * Shown in a browser's answer even though it reads private facts (a trait not in
     * `publicTraits`, money spent, RFM, cooldown). Without it such a segment is for the API only.
     */
    public: z.boolean().optional(),
  })
  .strict();

/** How long and for how many devices an email link identifies a browser (docs/email-links.md). */
const identitySchema = z
  .object({
    /** A device link lapses this many days after the token that made or last renewed it. */
    linkDays: z.number().positive().max(365),
    /** Devices one email link (all the `ms_t`s of its redirects) may identify. */
    devicesPerLink: z.number().int().min(1).max(100),
    /** Replays of one `/r` link within this many hours count one `email_click`. */
    clickWindowHours: z
      .number()
      .positive()
      .max(24 * 365),
  })
  .partial()
  .strict();

export interface IdentityPolicy {
  linkDays: number;
  devicesPerLink: number;
  clickWindowHours: number;
}

export const DEFAULT_IDENTITY: IdentityPolicy = {
  linkDays: 30,
  devicesPerLink: 3,
  clickWindowHours: 24,
};

const siteSchema = z
  .object({
    /** Page origins allowed to send browser events and read segments (CORS). */
    origins: z.array(origin).default([]),
    /** Accept browser events from http://localhost and 127.0.0.1 on any port (development). */
    allowLocalhost: z.boolean().default(false),
    /** Accept events from pages run by automation (`navigator.webdriver`). */
    allowAutomation: z.boolean().default(false),
    /**
     * The site has its visitors' consent (e.g. from its consent banner), so Do-Not-Track and
     * Global Privacy Control signals do not stop collection. Off by default: they are honored.
     */
    consent: z.boolean().default(false),
    /** URL path rules that give a page view a category when the page names none. */
    categories: z.array(categoryRule).default([]),
    /**
     * Bearer keys of the server endpoints (`/v1/events`, contacts, segments, erasure). Several
     * keys allow rotation. Without any, the MICROSEG_API_KEY environment variable serves.
     */
    apiKeys: z.array(z.string().min(16, 'an API key has at least 16 characters')).default([]),
    /** Segment engine thresholds; each omitted one takes its default. */
    segment: engineSchema.default({}),
    /** Traits the browser may set (`traits` in a collect batch); all others only with the API key. */
    publicTraits: z
      .array(z.string().regex(/^[A-Za-z][A-Za-z0-9_]*$/, 'a letter, then letters, digits and _'))
      .default([]),
    /** A request header set by a trusted proxy with the visitor's country (e.g. `cf-ipcountry`): trait `country`. */
    countryHeader: z
      .string()
      .regex(/^[A-Za-z0-9-]+$/, 'a header name')
      .toLowerCase()
      .optional(),
    /** Identity links: lifetime, devices per email link, click de-duplication. */
    identity: identitySchema.default({}),
    /** Purchase-revealing fields a browser's answer may carry (`rfm`, `cooldown`); none by default. */
    browserReveals: z.array(z.enum(['rfm', 'cooldown'])).default([]),
    /** Custom segments by name (docs/segments.md): `{ "camera-intent": { "when": { … } } }`. */
    rules: z.record(z.string(), ruleSchema).default({}),
    /** Goals by name (docs/goals.md): an event within a horizon, each with a model learned from the site's events. */
    goals: z
      .record(
        z
          .string()
          .regex(GOAL_NAME, 'a goal name has 1–64 letters, digits, dot, dash and underscore'),
        goalSchema,
      )
      .default({}),
    /** Webhooks on segment changes (docs/triggers.md). */
    webhooks: z.array(webhookSchema).default([]),
    /** Signing secret of the site's webhooks that name none (else MICROSEG_WEBHOOK_SECRET). */
    webhookSecret: webhookSecretSchema.optional(),
    /** Events older than this many days are deleted in the background; profiles are kept. Unset: kept forever. */
    retentionDays: z.number().positive().optional(),
    /** Refused events kept for diagnosis: rows per UTC day, and days kept (docs/operations.md). */
    quarantine: z
      .object({ rowsPerDay: z.number().int().nonnegative(), keepDays: z.number().positive() })
      .partial()
      .strict()
      .default({}),
  })
  .strict();

const configSchema = z
  .object({
    sites: z
      .record(siteId, siteSchema)
      .refine((s) => Object.keys(s).length > 0, 'at least one site'),
    /** Webhook delivery: attempts, backoff, timeout, concurrency (docs/triggers.md). */
    delivery: deliverySchema.default({}),
  })
  .strict();

export type ConfigFile = z.input<typeof configSchema>;

/** A custom segment rule as written: `{when, description?, public?}`. */
export type RuleInput = z.output<typeof ruleSchema>;

export interface SiteConfig {
  id: string;
  origins: string[];
  allowLocalhost: boolean;
  allowAutomation: boolean;
  consent: boolean;
  apiKeys: string[];
  categories: CategoryRule[];
  /**
   * The segment engine. Its `rules` are the config file's and the runtime rules saved through the
   * API: collector/rules/runtime.ts replaces the whole object when those change, so whatever was
   * computed from an earlier one (a read's memo) can tell by identity.
   */
  engine: EngineConfig;
  /** The config file's custom segment rules as written (runtime rules are compiled beside them). */
  configRules: Record<string, RuleInput>;
  publicTraits: string[];
  /** The config file's goals (read-only through the API; `/v1/goals` keeps the others). */
  configGoals: Record<string, Goal>;
  countryHeader: string | undefined;
  identity: IdentityPolicy;
  /** What a browser may see: the purchase-revealing fields it may keep, the custom segments it may not. */
  browser: { rfm: boolean; cooldown: boolean; hiddenSegments: Set<string> };
  webhooks: Webhook[];
  /** Days events are kept; null: forever. */
  retentionDays: number | null;
  /** Refused events kept per day, and for how long. */
  quarantine: QuarantinePolicy;
}

export interface Config {
  sites: Map<string, SiteConfig>;
  delivery: DeliveryPolicy;
}

/** Zero config: the `demo` site, open to localhost pages and automation so the demo and tests just work. */
export const DEFAULT_CONFIG: ConfigFile = {
  sites: { demo: { allowLocalhost: true, allowAutomation: true } },
};

export class ConfigError extends Error {
  override name = 'ConfigError';
}

export interface ConfigEnv {
  /** API key for every site whose config names none (MICROSEG_API_KEY). */
  apiKey?: string | undefined;
  /** Signing secret of webhooks whose site config names none (MICROSEG_WEBHOOK_SECRET). */
  webhookSecret?: string | undefined;
}

/** Validates a parsed config object; throws a ConfigError listing every problem with its path. */
export function parseConfig(input: unknown, source = 'config', env: ConfigEnv = {}): Config {
  const result = configSchema.safeParse(input);
  if (!result.success) {
    const lines = result.error.issues.map((i) => {
      // Zod reports a bad record key without the key's own rule; say it.
      const message =
        i.code === 'invalid_key' && i.path.length <= 2
          ? 'a site id has letters, digits, dot, dash and underscore only'
          : i.message;
      return `  ${i.path.join('.') || '(root)'}: ${message}`;
    });
    throw new ConfigError(`invalid site config in ${source}:\n${lines.join('\n')}`);
  }
  const sites = new Map<string, SiteConfig>();
  const problems: string[] = [];
  for (const [id, s] of Object.entries(result.data.sites)) {
    const engine: EngineConfig = {
      ...DEFAULT_ENGINE,
      ...s.segment,
      weights: { ...DEFAULT_ENGINE.weights, ...s.segment.weights },
      rfm: { ...DEFAULT_ENGINE.rfm, ...s.segment.rfm },
    } as EngineConfig;
    problems.push(...engineProblems(engine).map((p) => `  sites.${id}.segment.${p}`));
    const compiled = compileRules(s.rules, engine.windowDays);
    problems.push(...compiled.problems.map((p) => `  sites.${id}.rules.${p.path}: ${p.message}`));
    engine.rules = compiled.rules;
    engine.windowProps = compiled.props;
    const hooks = compileWebhooks(id, s.webhooks, {
      customSegments: Object.keys(s.rules),
      siteSecret: s.webhookSecret,
      envSecret: env.webhookSecret,
    });
    problems.push(...hooks.problems.map((p) => `  ${p}`));
    sites.set(id, {
      id,
      origins: s.origins,
      allowLocalhost: s.allowLocalhost,
      allowAutomation: s.allowAutomation,
      consent: s.consent,
      apiKeys: s.apiKeys.length > 0 ? s.apiKeys : env.apiKey ? [env.apiKey] : [],
      categories: s.categories.map((r) => ({ ...r, re: categoryPattern(r.path) })),
      engine,
      configRules: s.rules,
      publicTraits: s.publicTraits,
      configGoals: s.goals,
      countryHeader: s.countryHeader,
      identity: { ...DEFAULT_IDENTITY, ...s.identity },
      browser: {
        rfm: s.browserReveals.includes('rfm'),
        cooldown: s.browserReveals.includes('cooldown'),
        hiddenSegments: hiddenSegments(compiled.rules, s.rules, s.publicTraits),
      },
      webhooks: hooks.webhooks,
      retentionDays: s.retentionDays ?? null,
      quarantine: { ...DEFAULT_QUARANTINE, ...s.quarantine },
    });
  }
  if (problems.length > 0)
    throw new ConfigError(`invalid site config in ${source}:\n${problems.join('\n')}`);
  return { sites, delivery: { ...DEFAULT_DELIVERY, ...result.data.delivery } };
}

/** The custom segments a browser's answer leaves out: those reading private facts, unless `public`. */
export function hiddenSegments(
  compiled: readonly CompiledRule[],
  defs: Record<string, { public?: boolean | undefined }>,
  publicTraits: readonly string[],
): Set<string> {
  return new Set(
    compiled
      .filter((r) => !defs[r.name]?.public && r.reads.some((f) => privateFact(f, publicTraits)))
      .map((r) => r.name),
  );
}

/**
 * Facts a browser's answer must not reveal through a segment's name: traits the browser may not
 * set itself (a backend's gender, region, plan), money (totals, last value, RFM, cooldown,
 * counts filtered on an event's value), and goals' probabilities.
 */
function privateFact(fact: string, publicTraits: readonly string[]): boolean {
  if (fact.startsWith('trait.')) return !publicTraits.includes(fact.slice(6));
  const money = ['purchases.total', 'purchases.lastValue', 'cooldown', 'count.value'];
  // A goal's probability is read off purchases and traits.
  return money.includes(fact) || fact.startsWith('rfm.') || fact.startsWith('goal.');
}

/** Thresholds that are fine one by one but contradict each other. */
function engineProblems(e: EngineConfig): string[] {
  const out: string[] = [];
  for (const k of ['hotDays', 'intentDays'] as const) {
    if (e[k] > e.windowDays)
      out.push(
        `windowDays: ${e.windowDays} is shorter than ${k} (${e[k]}); the window log must cover it`,
      );
  }
  if (e.warmDays < e.activeDays)
    out.push(`warmDays: ${e.warmDays} is shorter than activeDays (${e.activeDays})`);
  if (e.lapsedDays <= e.atRiskDays)
    out.push(`lapsedDays: ${e.lapsedDays} must be longer than atRiskDays (${e.atRiskDays})`);
  return out;
}

/** Reads the config file at `path` (JSON), or the zero-config default without one. */
export function loadConfig(path: string | undefined, env: ConfigEnv = {}): Config {
  if (env.apiKey !== undefined && env.apiKey.length < 16) {
    throw new ConfigError('MICROSEG_API_KEY must have at least 16 characters');
  }
  if (env.webhookSecret !== undefined && env.webhookSecret.length < 16) {
    throw new ConfigError('MICROSEG_WEBHOOK_SECRET must have at least 16 characters');
  }
  if (!path) return parseConfig(DEFAULT_CONFIG, 'the built-in default', env);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError(`cannot read site config ${path}: ${(err as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new ConfigError(`site config ${path} is not valid JSON: ${(err as Error).message}`);
  }
  return parseConfig(json, path, env);
}

/** The category a URL rule gives a page, or undefined. */
export function categoryForUrl(site: SiteConfig, url: string | undefined): string | undefined {
  if (!url || site.categories.length === 0) return undefined;
  return matchCategory(site.categories, url)?.rule?.category;
}
