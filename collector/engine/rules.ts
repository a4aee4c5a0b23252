/**
 * Custom segments: named rules from the site config, compiled once at start into closures.
 * Compiling reports every problem with the path of the bad part, so a typo in a rule stops
 * the collector with a sentence instead of silently matching nobody.
 *
 * A condition is one of
 *   { "all": [cond, …] }   { "any": [cond, …] }   { "not": cond }
 *   { "fact": NAME, OP: VALUE }
 *   { "count": { "type"?, "category"?, "within", "props"?, "value"? }, OP: NUMBER }
 * with OP one of eq, ne, gt, gte, lt, lte, in, exists (docs/segments.md has the full format).
 */
import type { PropValue } from '../../shared/wire.ts';
import { DAY } from './config.ts';
import type { WindowEntry } from './profile.ts';
import { must } from '../../shared/must.ts';

const OPS = ['eq', 'ne', 'gt', 'gte', 'lt', 'lte', 'in', 'exists'] as const;
type Op = (typeof OPS)[number];

/** What a rule sees: the evaluated dimensions as facts, the window log and the clock. */
export interface RuleContext {
  facts: Record<string, unknown>;
  affinity: Record<string, number>;
  traits: Record<string, unknown> | undefined;
  window: WindowEntry[];
  now: number;
}

export type Test = (ctx: RuleContext) => boolean;

export interface CompiledRule {
  name: string;
  description?: string | undefined;
  test: Test;
  /** Facts the rule reads (`trait.<name>` included), and `count.value` for a count on event values. */
  reads: string[];
  /** What the rule compares with the clock, so a segment can be kept until it may change (stable.ts). */
  clock: RuleClock;
}

/**
 * The time-dependent parts of a rule: the spans of its counts (an event enters and leaves each),
 * and the numbers a `days.*` fact is compared with, by fact.
 */
export interface RuleClock {
  windows: number[];
  days: { fact: string; value: number }[];
}

export interface RuleProblem {
  path: string;
  message: string;
}

type Kind = 'enum' | 'string' | 'number' | 'boolean' | 'any';

const LIFECYCLES = ['newbie', 'prospect', 'new_customer', 'loyalist', 'at_risk', 'lapsed'];
const RFM_LABELS = [
  'champions',
  'loyal',
  'potential_loyalist',
  'new_customer',
  'promising',
  'need_attention',
  'about_to_sleep',
  'at_risk',
  'cannot_lose',
  'hibernating',
];

/** The facts a rule may name (besides `affinity.<category>` and `trait.<name>`). */
export const FACTS: Record<string, { kind: Kind; values?: string[] }> = {
  lifecycle: { kind: 'enum', values: LIFECYCLES },
  category: { kind: 'string' },
  engagement: { kind: 'enum', values: ['hot', 'active', 'warm', 'cold'] },
  intent: { kind: 'enum', values: ['most_likely', 'moderately_likely', 'least_likely'] },
  segment: { kind: 'string' },
  cooldown: { kind: 'boolean' },
  known: { kind: 'boolean' },
  'rfm.r': { kind: 'number' },
  'rfm.f': { kind: 'number' },
  'rfm.m': { kind: 'number' },
  'rfm.label': { kind: 'enum', values: RFM_LABELS },
  'purchases.count': { kind: 'number' },
  'purchases.total': { kind: 'number' },
  'purchases.lastValue': { kind: 'number' },
  'days.sinceFirstSeen': { kind: 'number' },
  'days.sinceLastSeen': { kind: 'number' },
  'days.sinceLastPurchase': { kind: 'number' },
  'events.count': { kind: 'number' },
};

const UNITS: Record<string, number> = { d: DAY, h: 3_600_000, m: 60_000, s: 1000 };
const RULE_NAME = /^[A-Za-z0-9._-]{1,64}$/;
const MAX_NODES = 100;

/** "7d", "12h", "30m", "90s" → ms; undefined when malformed. */
export function parseDuration(s: unknown): number | undefined {
  if (typeof s !== 'string') return undefined;
  const m = /^(\d+(?:\.\d+)?)([dhms])$/.exec(s);
  if (!m) return undefined;
  const ms = Number(m[1]) * must(UNITS[m[2] ?? ''], 'duration unit');
  return ms > 0 ? ms : undefined;
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);
const isScalar = (v: unknown): v is PropValue =>
  v === null ||
  typeof v === 'string' ||
  typeof v === 'boolean' ||
  (typeof v === 'number' && Number.isFinite(v));

/** Compares with SQL-like nulls: a missing fact matches nothing but `exists: false`. */
function compare(op: Op, actual: unknown, expected: unknown): boolean {
  if (op === 'exists') return (actual !== null && actual !== undefined) === expected;
  if (actual === null || actual === undefined) return false;
  switch (op) {
    case 'eq':
      return actual === expected;
    case 'ne':
      return actual !== expected;
    case 'in':
      return (expected as unknown[]).includes(actual);
    case 'gt':
      return typeof actual === 'number' && actual > (expected as number);
    case 'gte':
      return typeof actual === 'number' && actual >= (expected as number);
    case 'lt':
      return typeof actual === 'number' && actual < (expected as number);
    case 'lte':
      return typeof actual === 'number' && actual <= (expected as number);
  }
}

interface Compiler {
  problems: RuleProblem[];
  /** Prop keys the counts of every rule filter on. */
  props: Set<string>;
  nodes: number;
  windowMs: number;
  /** Facts this rule reads (see CompiledRule.reads). */
  reads: Set<string>;
  /** What this rule compares with the clock (see CompiledRule.clock). */
  clock: RuleClock;
}

function problem(c: Compiler, path: string, message: string): Test {
  c.problems.push({ path, message });
  return () => false;
}

/** Reads the one comparison of a condition object (`{gte: 3}` beside the other keys). */
function comparison(
  c: Compiler,
  node: Record<string, unknown>,
  path: string,
  check: (op: Op, value: unknown, at: string) => string | undefined,
): { op: Op; value: unknown } | undefined {
  const ops = Object.keys(node).filter((k) => (OPS as readonly string[]).includes(k)) as Op[];
  if (ops.length !== 1) {
    problem(
      c,
      path,
      `needs exactly one comparison (${OPS.join(', ')}), found ${ops.length ? ops.join(', ') : 'none'}`,
    );
    return undefined;
  }
  const op = must(ops[0], 'comparison');
  const value = node[op];
  const at = `${path}.${op}`;
  if (op === 'exists') {
    if (typeof value !== 'boolean') return void problem(c, at, 'exists takes true or false');
    return { op, value };
  }
  if (op === 'in') {
    if (!Array.isArray(value) || value.length === 0)
      return void problem(c, at, 'in takes a non-empty list');
    for (let i = 0; i < value.length; i++) {
      const bad = check('eq', value[i], `${at}.${i}`);
      if (bad) return void problem(c, `${at}.${i}`, bad);
    }
    return { op, value };
  }
  const bad = check(op, value, at);
  if (bad) return void problem(c, at, bad);
  return { op, value };
}

function checkFactValue(kind: Kind, values: string[] | undefined, name: string) {
  return (op: Op, value: unknown): string | undefined => {
    const ordered = op === 'gt' || op === 'gte' || op === 'lt' || op === 'lte';
    if (kind === 'number')
      return typeof value === 'number' && Number.isFinite(value)
        ? undefined
        : `${name} compares with a number`;
    if (ordered && kind !== 'any') return `${op} needs a number; ${name} is not one`;
    if (ordered)
      return typeof value === 'number' && Number.isFinite(value)
        ? undefined
        : `${op} needs a number`;
    if (kind === 'boolean')
      return typeof value === 'boolean' ? undefined : `${name} is true or false`;
    if (kind === 'enum' && values)
      return values.includes(value as string)
        ? undefined
        : `${name} is one of ${values.join(', ')}`;
    if (kind === 'string')
      return typeof value === 'string' ? undefined : `${name} compares with a string`;
    return isScalar(value) ? undefined : 'compares with a string, number, boolean or null';
  };
}

function compileFact(c: Compiler, node: Record<string, unknown>, path: string): Test {
  const name = node.fact;
  if (typeof name !== 'string') return problem(c, `${path}.fact`, 'a fact name (string)');
  const extra = Object.keys(node).filter(
    (k) => k !== 'fact' && !(OPS as readonly string[]).includes(k),
  );
  if (extra.length) return problem(c, `${path}.${extra[0]}`, 'unknown key in a fact condition');
  let read: (ctx: RuleContext) => unknown;
  let kind: Kind;
  let values: string[] | undefined;
  if (name.startsWith('affinity.') && name.length > 9) {
    const cat = name.slice(9);
    read = (ctx) => (Object.hasOwn(ctx.affinity, cat) ? ctx.affinity[cat] : 0);
    kind = 'number';
  } else if (name.startsWith('trait.') && name.length > 6) {
    const trait = name.slice(6);
    read = (ctx) => (ctx.traits && Object.hasOwn(ctx.traits, trait) ? ctx.traits[trait] : null);
    kind = 'any';
  } else if (Object.hasOwn(FACTS, name)) {
    ({ kind, values } = must(FACTS[name], `fact ${name}`));
    read = (ctx) => ctx.facts[name];
  } else {
    return problem(
      c,
      `${path}.fact`,
      `unknown fact "${name}"; facts are ${Object.keys(FACTS).join(', ')}, affinity.<category>, trait.<name>`,
    );
  }
  const cmp = comparison(c, node, path, checkFactValue(kind, values, name));
  if (!cmp) return () => false;
  c.reads.add(name);
  const { op, value } = cmp;
  if (name.startsWith('days.')) {
    for (const v of Array.isArray(value) ? value : [value])
      if (typeof v === 'number') c.clock.days.push({ fact: name, value: v });
  }
  return (ctx) => compare(op, read(ctx), value);
}

const list = (v: unknown): string[] | undefined =>
  typeof v === 'string' && v.length > 0
    ? [v]
    : Array.isArray(v) && v.length > 0 && v.every((x) => typeof x === 'string' && x.length > 0)
      ? (v as string[])
      : undefined;

function compileCount(c: Compiler, node: Record<string, unknown>, path: string): Test {
  const spec = node.count;
  const at = `${path}.count`;
  if (!isObject(spec))
    return problem(
      c,
      at,
      'an object like { "type": "page_view", "category": "cameras", "within": "7d" }',
    );
  const extra = Object.keys(node).filter(
    (k) => k !== 'count' && !(OPS as readonly string[]).includes(k),
  );
  if (extra.length) return problem(c, `${path}.${extra[0]}`, 'unknown key in a count condition');
  for (const k of Object.keys(spec)) {
    if (!['type', 'category', 'within', 'props', 'value'].includes(k))
      return problem(
        c,
        `${at}.${k}`,
        'unknown key; a count has type, category, within, props, value',
      );
  }
  const types = spec.type === undefined ? undefined : list(spec.type);
  if (spec.type !== undefined && !types)
    return problem(c, `${at}.type`, 'an event type or a list of them');
  const cats = spec.category === undefined ? undefined : list(spec.category);
  if (spec.category !== undefined && !cats)
    return problem(c, `${at}.category`, 'a category or a list of them');
  const within = parseDuration(spec.within);
  if (within === undefined)
    return problem(c, `${at}.within`, 'a duration like "7d", "12h", "30m" or "90s"');
  if (within > c.windowMs) {
    return problem(
      c,
      `${at}.within`,
      `${spec.within as string} is longer than the window log (segment.windowDays = ${c.windowMs / DAY}); raise windowDays`,
    );
  }
  let props: [string, PropValue][] = [];
  if (spec.props !== undefined) {
    if (!isObject(spec.props) || Object.keys(spec.props).length === 0)
      return problem(c, `${at}.props`, 'an object of prop values to match, e.g. { "plan": "pro" }');
    for (const [k, v] of Object.entries(spec.props)) {
      if (!isScalar(v)) return problem(c, `${at}.props.${k}`, 'a string, number, boolean or null');
    }
    props = Object.entries(spec.props) as [string, PropValue][];
    for (const [k] of props) c.props.add(k);
  }
  let valueTest: ((v: number | null | undefined) => boolean) | undefined;
  if (spec.value !== undefined) {
    if (!isObject(spec.value)) return problem(c, `${at}.value`, 'a comparison like { "gte": 100 }');
    const extraV = Object.keys(spec.value).filter((k) => !(OPS as readonly string[]).includes(k));
    if (extraV.length)
      return problem(
        c,
        `${at}.value.${extraV[0]}`,
        `unknown comparison; use one of ${OPS.join(', ')}`,
      );
    const cmp = comparison(
      c,
      spec.value,
      `${at}.value`,
      checkFactValue('number', undefined, 'value'),
    );
    if (!cmp) return () => false;
    valueTest = (v) => compare(cmp.op, v ?? null, cmp.value);
    c.reads.add('count.value');
  }
  const cmp = comparison(c, node, path, (op, v) =>
    op !== 'exists' && typeof v === 'number' && Number.isInteger(v) && v >= 0
      ? undefined
      : 'a count compares with a whole number ≥ 0',
  );
  if (!cmp) return () => false;
  const match = (e: WindowEntry) =>
    (!types || types.includes(e[1])) &&
    (!cats || (e[2] !== null && cats.includes(e[2]))) &&
    (!valueTest || valueTest(e[4])) &&
    props.every(([k, v]) => e[5] !== undefined && Object.hasOwn(e[5], k) && e[5][k] === v);
  const { op, value } = cmp;
  if (!c.clock.windows.includes(within)) c.clock.windows.push(within);
  return (ctx) => compare(op, countMatching(ctx.window, ctx.now, within, match), value);
}

/** Events in (now − ms, now]: an event exactly `ms` old has left the window. */
export function countMatching(
  window: WindowEntry[],
  now: number,
  ms: number,
  match: (e: WindowEntry) => boolean,
): number {
  const from = now - ms;
  let n = 0;
  for (let i = window.length - 1; i >= 0; i--) {
    const e = must(window[i], 'window entry');
    if (e[0] > now) continue;
    if (e[0] <= from) break;
    if (match(e)) n++;
  }
  return n;
}

function compileCondition(c: Compiler, node: unknown, path: string): Test {
  if (++c.nodes > MAX_NODES) return problem(c, path, `a rule has at most ${MAX_NODES} conditions`);
  if (!isObject(node)) return problem(c, path, 'a condition object: all, any, not, fact or count');
  const kinds = ['all', 'any', 'not', 'fact', 'count'].filter((k) => k in node);
  if (kinds.length !== 1) {
    return problem(
      c,
      path,
      kinds.length
        ? `one of all/any/not/fact/count per condition, found ${kinds.join(' and ')}`
        : 'a condition needs one of all, any, not, fact, count',
    );
  }
  const kind = must(kinds[0], 'condition kind');
  if (kind === 'fact') return compileFact(c, node, path);
  if (kind === 'count') return compileCount(c, node, path);
  const extra = Object.keys(node).filter((k) => k !== kind);
  if (extra.length) return problem(c, `${path}.${extra[0]}`, `unknown key beside "${kind}"`);
  if (kind === 'not') {
    const inner = compileCondition(c, node.not, `${path}.not`);
    return (ctx) => !inner(ctx);
  }
  const items = node[kind];
  if (!Array.isArray(items) || items.length === 0)
    return problem(c, `${path}.${kind}`, 'a non-empty list of conditions');
  const tests = items.map((item, i) => compileCondition(c, item, `${path}.${kind}.${i}`));
  return kind === 'all' ? (ctx) => tests.every((t) => t(ctx)) : (ctx) => tests.some((t) => t(ctx));
}

/** A rule as written in the site config. */
export interface RuleDefinition {
  when: unknown;
  description?: string | undefined;
}

/**
 * Compiles the site's rules (`{ name: { when: condition } }`). `windowDays` is the site's
 * window log: a count may not look further back than the log keeps. Paths of problems start
 * at the rule name (`camera-intent.when.all.0.count.within`).
 */
export function compileRules(
  rules: Record<string, RuleDefinition>,
  windowDays: number,
): { rules: CompiledRule[]; problems: RuleProblem[]; props: string[] } {
  const problems: RuleProblem[] = [];
  const compiled: CompiledRule[] = [];
  const allProps = new Set<string>();
  for (const [name, { when, description }] of Object.entries(rules)) {
    if (!RULE_NAME.test(name)) {
      problems.push({
        path: name,
        message: 'a rule name has 1–64 letters, digits, dot, dash and underscore',
      });
      continue;
    }
    const c: Compiler = {
      problems,
      props: allProps,
      nodes: 0,
      windowMs: windowDays * DAY,
      reads: new Set(),
      clock: { windows: [], days: [] },
    };
    const test = compileCondition(c, when, `${name}.when`);
    compiled.push({ name, description, test, reads: [...c.reads].sort(), clock: c.clock });
  }
  return { rules: compiled, problems, props: [...allProps].sort() };
}
