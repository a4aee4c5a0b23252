/**
 * Runtime custom segment rules: the rules saved through the API (`/v1/rules`), stored per site in
 * the database, compiled beside the config file's and put in force in this process by replacing
 * the site's `engine` (and its browser view) with a new object. Everything that evaluates segments
 * reads `site.engine` when it runs, and a read's memo compares the engine object it was computed
 * with (identity/identify.ts), so nothing computed with the old rules is served after the swap.
 *
 * Other processes on the same database (PostgreSQL, `serve --workers N`) learn of a change by
 * polling: every `checkMs` (1 s) one read of the small `rule_versions` table, and a reload of the
 * sites whose version moved. A poll rather than a check on every segment read: the read path
 * answers from its cache without a database round trip (a hit costs microseconds), and one query a
 * second per process costs nothing. So a rule saved in one process is in force in the process
 * that saved it before the save is answered, and in every other within `checkMs` plus one read.
 */
import type { Config, RuleInput, SiteConfig } from '../config/config.ts';
import { hiddenSegments, ruleSchema } from '../config/config.ts';
import { compileRules } from '../engine/index.ts';
import { RULE_NAME } from '../engine/rules.ts';
import { poll } from '../storage/poll.ts';
import type { Storage, StoredRule } from '../storage/contract.ts';

/** How often a process looks for rules saved by another (the bound on their delay). */
export const RULES_CHECK_MS = 1000;

/** Names the routes use for themselves (`/v1/rules/preview`, `/templates`, `/vocabulary`). */
export const RESERVED_NAMES = ['preview', 'templates', 'vocabulary'];

type Log = (
  level: 'info' | 'warn' | 'error',
  msg: string,
  fields?: Record<string, unknown>,
) => void;

export interface RuleProblem {
  /** Where in the body: `when.all.0.count.within`, `description`, … (empty: the body itself). */
  path: string;
  message: string;
}

/** A stored rule as loaded: its definition parsed, and why it is not in force when it is not. */
export interface LoadedRule extends Omit<StoredRule, 'definition'> {
  rule: RuleInput;
  /** The rule no longer compiles with the site's config (a lowered windowDays): not in force. */
  broken?: string;
}

export interface SiteRules {
  /** The site's rules version these were loaded at (0: never saved one). */
  version: number;
  rules: LoadedRule[];
}

/** Why `name` cannot be a rule's name, or null. */
export function badRuleName(name: string): string | null {
  if (!RULE_NAME.test(name))
    return 'a rule name has 1–64 letters, digits, dot, dash and underscore';
  if (RESERVED_NAMES.includes(name)) return `"${name}" is reserved by the API`;
  return null;
}

/**
 * Checks a rule's body as the config file's rules are checked (the same schema and compiler),
 * against the site's window log. Problems name their place in the body.
 */
export function checkRule(
  site: SiteConfig,
  name: string,
  body: unknown,
): { rule: RuleInput } | { problems: RuleProblem[] } {
  const parsed = ruleSchema.safeParse(body);
  if (!parsed.success)
    return {
      problems: parsed.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message })),
    };
  const { problems } = compileRules({ [name]: parsed.data }, site.engine.windowDays);
  if (problems.length > 0)
    return {
      problems: problems.map((p) => ({
        path: p.path.startsWith(`${name}.`) ? p.path.slice(name.length + 1) : p.path,
        message: p.message,
      })),
    };
  return { rule: parsed.data };
}

function load(row: StoredRule): LoadedRule {
  const { definition, ...rest } = row;
  try {
    const parsed = ruleSchema.safeParse(JSON.parse(definition));
    if (parsed.success) return { ...rest, rule: parsed.data };
    return { ...rest, rule: { when: null }, broken: 'stored definition is not a rule' };
  } catch {
    return { ...rest, rule: { when: null }, broken: 'stored definition is not JSON' };
  }
}

/**
 * Puts `state`'s rules in force for `site`: the config file's, then each stored one that is not
 * deleted and still compiles. A stored rule that stopped compiling (the config's windowDays was
 * lowered below one of its windows) is left out and marked, never a reason to stop the collector.
 */
export function applyRules(site: SiteConfig, state: SiteRules): void {
  const defs: Record<string, RuleInput> = { ...site.configRules };
  for (const r of state.rules) {
    delete r.broken;
    if (r.deleted) continue;
    if (Object.hasOwn(site.configRules, r.name)) {
      r.broken = 'the config file now has a rule of this name, which wins';
      continue;
    }
    const alone = compileRules({ [r.name]: r.rule }, site.engine.windowDays);
    const first = alone.problems[0];
    if (first) r.broken = `${first.path}: ${first.message}`;
    else defs[r.name] = r.rule;
  }
  const compiled = compileRules(defs, site.engine.windowDays);
  site.engine = {
    ...site.engine,
    rules: compiled.rules,
    windowProps: compiled.props,
    quiet: pendingOf(state).map((p) => p.name),
  };
  site.browser = {
    ...site.browser,
    hiddenSegments: hiddenSegments(compiled.rules, defs, site.publicTraits),
  };
}

/** Rules whose members the backfill has yet to compute (saved, changed or deleted since). */
export function pendingOf(state: SiteRules): { name: string; revision: number }[] {
  return state.rules
    .filter((r) => r.backfilled < r.revision)
    .map((r) => ({ name: r.name, revision: r.revision }));
}

export interface RuntimeRules {
  /** The site's stored rules as in force in this process. */
  state(site: string): SiteRules;
  /** Reloads a site's rules from the database and puts them in force (after a write here). */
  refresh(site: string): Promise<void>;
  /** Looks for rules changed by another process (the poll; tests call it to skip the wait). */
  check(): Promise<void>;
  /** Resolves once the stored rules of every site are in force (the first check). */
  readonly ready: Promise<void>;
  stop(): void;
}

export function runtimeRules(
  storage: Storage,
  config: Config,
  opts: { log?: Log | undefined; checkMs?: number | undefined } = {},
): RuntimeRules {
  const states = new Map<string, SiteRules>();
  const broken = new Set<string>();
  const log = opts.log ?? (() => {});
  const stateOf = (site: string) => states.get(site) ?? { version: 0, rules: [] };

  async function refresh(id: string): Promise<void> {
    const site = config.sites.get(id);
    if (!site) return;
    const { version, rules } = await storage.rules.list(id);
    // Two reloads may end out of order: an older one never replaces a newer one.
    const current = states.get(id);
    if (current && version <= current.version) return;
    const state = { version, rules: rules.map(load) };
    applyRules(site, state);
    states.set(id, state);
    for (const r of state.rules) {
      const key = `${id}/${r.name}/${r.revision}`;
      if (r.broken && !broken.has(key)) {
        broken.add(key);
        log('warn', 'runtime rule not in force', { site: id, rule: r.name, problem: r.broken });
      }
    }
  }

  async function check(): Promise<void> {
    const versions = await storage.rules.versions();
    for (const [id, v] of versions)
      if (config.sites.has(id) && v !== stateOf(id).version) await refresh(id);
  }

  const polling = poll(check, opts.checkMs ?? RULES_CHECK_MS, log, 'runtime rules');

  return {
    state: stateOf,
    refresh,
    check,
    ready: polling.ready,
    stop: polling.stop,
  };
}
