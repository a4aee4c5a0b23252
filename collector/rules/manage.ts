/**
 * Managing a site's runtime rules: list, save, delete, add a template, preview. The API
 * (`/v1/rules`, http/routes/rules.ts) and the dashboard's rule builder
 * (dashboard/pages/rules.tsx) both call these, so the two cannot differ in what they accept or
 * refuse; each turns a failure into its own answer (JSON or a page).
 */
import { RULE_LIMITS } from '../../shared/limits.ts';
import type { RuleInput, SiteConfig } from '../config/config.ts';
import { FACTS, OPS } from '../engine/rules.ts';
import type { Storage } from '../storage/contract.ts';
import { type Preview, previewRule } from './preview.ts';
import {
  badRuleName,
  checkRule,
  type LoadedRule,
  type RuleProblem,
  type RuntimeRules,
} from './runtime.ts';
import { type RuleTemplate, TEMPLATES } from './templates.ts';

/** What the functions here need of the collector. */
export interface RuleDeps {
  storage: Storage;
  rules: RuntimeRules;
  now: () => number;
}

/** A rule as the API and the dashboard show it: where it comes from, whether it can be changed, its state. */
export interface RuleView {
  name: string;
  /** `config`: the config file's (read-only here); `api`: saved at runtime. */
  source: 'config' | 'api';
  readOnly: boolean;
  when: unknown;
  description: string | null;
  public: boolean;
  /** Evaluated on reads and writes now (false: a stored rule the config no longer lets compile). */
  inForce: boolean;
  /** Why not in force. */
  problem?: string;
  /** Runtime rules: `pending` until the backfill has computed its members for every profile. */
  backfill?: 'pending' | 'done';
  created?: number;
  updated?: number;
}

/**
 * Why a change was refused: an HTTP status, a code, a sentence, and for a rule that does not
 * compile, each problem with its place in the body.
 */
export interface RuleRefusal {
  ok: false;
  status: 400 | 404 | 409 | 413 | 429;
  error: string;
  message: string;
  problems?: RuleProblem[];
}

export type RuleOutcome<T> = { ok: true; value: T } | RuleRefusal;

const refuse = (status: RuleRefusal['status'], error: string, message: string): RuleRefusal => ({
  ok: false,
  status,
  error,
  message,
});

/** The refusal of a body the compiler found problems in: every problem, with its path. */
export const invalidRule = (problems: RuleProblem[]): RuleRefusal => ({
  ...refuse(
    400,
    'invalid_rule',
    problems.map((p) => `${p.path || '(body)'}: ${p.message}`).join('; '),
  ),
  problems,
});

const configView = (name: string, r: RuleInput): RuleView => ({
  name,
  source: 'config',
  readOnly: true,
  when: r.when,
  description: r.description ?? null,
  public: r.public ?? false,
  inForce: true,
});

const apiView = (r: LoadedRule): RuleView => ({
  name: r.name,
  source: 'api',
  readOnly: false,
  when: r.rule.when,
  description: r.rule.description ?? null,
  public: r.rule.public ?? false,
  inForce: r.broken === undefined,
  ...(r.broken === undefined ? {} : { problem: r.broken }),
  backfill: r.backfilled < r.revision ? 'pending' : 'done',
  created: r.created,
  updated: r.updated,
});

const stored = (deps: RuleDeps, site: SiteConfig, name: string) =>
  deps.rules.state(site.id).rules.find((r) => r.name === name && !r.deleted);

/** Every rule of the site: the config file's first, then the saved ones; and the rules version. */
export function listRules(
  deps: RuleDeps,
  site: SiteConfig,
): { version: number; rules: RuleView[] } {
  const state = deps.rules.state(site.id);
  return {
    version: state.version,
    rules: [
      ...Object.entries(site.configRules).map(([n, r]) => configView(n, r)),
      ...state.rules.filter((r) => !r.deleted).map(apiView),
    ],
  };
}

/** One rule by name, config or saved; undefined when the site has none of that name. */
export function getRule(deps: RuleDeps, site: SiteConfig, name: string): RuleView | undefined {
  const config = site.configRules[name];
  if (config && Object.hasOwn(site.configRules, name)) return configView(name, config);
  const saved = stored(deps, site, name);
  return saved ? apiView(saved) : undefined;
}

/** A refusal from inside the write job: thrown so the job's writes roll back. */
class TooManyRules extends Error {}

/**
 * Saves `body` (the rule JSON: `when`, optional `description` and `public`) as the site's rule
 * `name`, after the same checks as the config file's rules, and puts it in force in this process
 * before returning. `created`: it did not exist before.
 */
export async function saveRule(
  deps: RuleDeps,
  site: SiteConfig,
  name: string,
  body: unknown,
): Promise<RuleOutcome<{ rule: RuleView; created: boolean }>> {
  const bad = badRuleName(name);
  if (bad) return refuse(400, 'invalid_name', bad);
  if (Object.hasOwn(site.configRules, name))
    return refuse(
      409,
      'name_taken',
      `"${name}" is a rule of the config file: change it there, or save this one under another name`,
    );
  const checked = checkRule(site, name, body);
  if ('problems' in checked) return invalidRule(checked.problems);
  return put(deps, site, name, checked.rule);
}

async function put(
  deps: RuleDeps,
  site: SiteConfig,
  name: string,
  rule: RuleInput,
): Promise<RuleOutcome<{ rule: RuleView; created: boolean }>> {
  const created = stored(deps, site, name) === undefined;
  const now = deps.now();
  const definition = JSON.stringify(rule);
  try {
    await deps.storage.write(async (tx) => {
      const res = await tx.rules.put(site.id, name, definition, now, RULE_LIMITS.rulesPerSite);
      if (res === 'too_many') throw new TooManyRules();
    });
  } catch (err) {
    if (!(err instanceof TooManyRules)) throw err;
    return refuse(
      409,
      'too_many_rules',
      `site "${site.id}" has ${RULE_LIMITS.rulesPerSite} runtime rules: delete one first`,
    );
  }
  await deps.rules.refresh(site.id);
  const saved = stored(deps, site, name);
  if (!saved) throw new Error(`rule "${name}" was saved but is not loaded`);
  return { ok: true, value: { rule: apiView(saved), created } };
}

/** Deletes the saved rule `name` (its members leave as the backfill passes). */
export async function deleteRule(
  deps: RuleDeps,
  site: SiteConfig,
  name: string,
): Promise<RuleOutcome<{ name: string }>> {
  if (Object.hasOwn(site.configRules, name))
    return refuse(409, 'read_only', `"${name}" is a rule of the config file: remove it there`);
  const now = deps.now();
  const done = await deps.storage.write((tx) => tx.rules.delete(site.id, name, now));
  if (done === null) return refuse(404, 'unknown_rule', `no rule "${name}" on site "${site.id}"`);
  await deps.rules.refresh(site.id);
  return { ok: true, value: { name } };
}

export const templateById = (id: string): RuleTemplate | undefined =>
  TEMPLATES.find((t) => t.id === id);

/** Saves template `id` as a rule named `name` (default: the template's id). */
export async function addTemplate(
  deps: RuleDeps,
  site: SiteConfig,
  id: string,
  name?: string,
): Promise<RuleOutcome<{ rule: RuleView; created: boolean }>> {
  const template = templateById(id);
  if (!template)
    return refuse(
      404,
      'unknown_template',
      `no template "${id}"; templates are ${TEMPLATES.map((t) => t.id).join(', ')}`,
    );
  const as = name ?? template.id;
  const bad = badRuleName(as);
  if (bad) return refuse(400, 'invalid_name', bad);
  if (Object.hasOwn(site.configRules, as))
    return refuse(409, 'name_taken', `"${as}" is a rule of the config file; give another name`);
  const checked = checkRule(site, as, template.rule);
  if ('problems' in checked) return invalidRule(checked.problems);
  return put(deps, site, as, checked.rule);
}

/**
 * Previews running now, per database: each may scan every profile for up to
 * `RULE_LIMITS.previewMs`, so only a few at once — for the API and the dashboard together.
 */
const running = new WeakMap<Storage, { n: number }>();

/** How many profiles `body` (`{"when": …}`) matches now, without saving it. */
export async function previewBody(
  deps: RuleDeps,
  site: SiteConfig,
  body: unknown,
): Promise<RuleOutcome<Preview>> {
  const checked = checkRule(site, 'preview', body);
  if ('problems' in checked) return invalidRule(checked.problems);
  let gate = running.get(deps.storage);
  if (!gate) {
    gate = { n: 0 };
    running.set(deps.storage, gate);
  }
  if (gate.n >= RULE_LIMITS.previewsAtOnce)
    return refuse(429, 'busy', 'other previews are running: try again in a moment');
  gate.n++;
  try {
    return {
      ok: true,
      value: await previewRule(deps.storage, site, checked.rule.when, deps.now()),
    };
  } finally {
    gate.n--;
  }
}

/**
 * What a builder offers to pick from: every fact with its kind and values, the comparisons, the
 * condition kinds, the site's window (the longest `within`), and the event types and categories
 * the site's config names (others may be typed in).
 */
export function vocabulary(site: SiteConfig) {
  const e = site.engine;
  return {
    site: site.id,
    facts: Object.entries(FACTS).map(([name, f]) => ({ name, ...f })),
    patterns: [
      { name: 'affinity.<category>', kind: 'number', note: "the category's share, 0 to 1" },
      { name: 'trait.<name>', kind: 'any', note: 'a trait set by the backend or the page' },
    ],
    ops: OPS,
    conditions: ['all', 'any', 'not', 'fact', 'count', 'sequence'],
    windowDays: e.windowDays,
    eventTypes: [...new Set([...Object.keys(e.weights), ...e.intentEvents])],
    categories: [...new Set(site.categories.map((r) => r.category))],
    publicTraits: site.publicTraits,
  };
}

export type Vocabulary = ReturnType<typeof vocabulary>;
