/**
 * Custom segments: named rules from the site config, compiled once at start into closures.
 * Compiling reports every problem with the path of the bad part, so a typo in a rule stops
 * the collector with a sentence instead of silently matching nobody.
 *
 * A condition is one of
 *   { "all": [cond, …] }   { "any": [cond, …] }   { "not": cond }
 *   { "fact": NAME, OP: VALUE }
 *   { "count": { "type"?, "category"?, "within", "props"?, "value"? }, OP: NUMBER }
 *   { "sequence": { "did": { …event, "within" }, "without": { …event }, "for"? } }
 * with OP one of eq, ne, gt, gte, lt, lte, between, in, exists (docs/segments.md has the full format).
 */
import type { PropValue } from '../../shared/wire.ts';
import { DAY } from './config.ts';
import { ENGAGEMENTS, type GoalScore, INTENTS, LIFECYCLES } from '../../shared/segment.ts';
import type { WindowEntry } from './profile.ts';
import { must } from '../../shared/must.ts';

export const OPS = ['eq', 'ne', 'gt', 'gte', 'lt', 'lte', 'between', 'in', 'exists'] as const;
type Op = (typeof OPS)[number];

/** What a rule sees: the evaluated dimensions as facts, the window log and the clock. */
export interface RuleContext {
  facts: Record<string, unknown>;
  affinity: Record<string, number>;
  traits: Record<string, unknown> | undefined;
  window: WindowEntry[];
  now: number;
  /** The goals' probabilities and buckets (goals/serve.ts), when the site has goals. */
  goals?: Record<string, GoalScore> | undefined;
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

/** `goal.<name>.p` (its probability, null without a model) and `goal.<name>.bucket`. */
const GOAL_FACT = /^goal\.([A-Za-z0-9._-]{1,64})\.(p|bucket)$/;

/** The facts a rule may name (besides `affinity.<category>`, `trait.<name>` and `goal.<name>.*`). */
export const FACTS: Record<string, { kind: Kind; values?: string[] }> = {
  lifecycle: { kind: 'enum', values: [...LIFECYCLES] },
  category: { kind: 'string' },
  engagement: { kind: 'enum', values: [...ENGAGEMENTS] },
  intent: { kind: 'enum', values: [...INTENTS] },
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
export const RULE_NAME = /^[A-Za-z0-9._-]{1,64}$/;
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
    case 'between': {
      // Inclusive at both ends: "age between 25 and 50" keeps the 25- and the 50-year-old.
      const [lo, hi] = expected as [number, number];
      return typeof actual === 'number' && actual >= lo && actual <= hi;
    }
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
  if (op === 'between') {
    if (!Array.isArray(value) || value.length !== 2)
      return void problem(c, at, 'between takes two numbers [low, high]');
    for (let i = 0; i < 2; i++) {
      const bad = check('between', value[i], `${at}.${i}`);
      if (bad) return void problem(c, `${at}.${i}`, bad);
    }
    if ((value[0] as number) > (value[1] as number))
      return void problem(c, at, 'between takes [low, high] with low ≤ high');
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
    const ordered = op === 'gt' || op === 'gte' || op === 'lt' || op === 'lte' || op === 'between';
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
  } else if (GOAL_FACT.test(name)) {
    // A goal saved later may be named: until it exists the fact is missing (matches no comparison).
    const [, goal = '', part] = must(GOAL_FACT.exec(name), 'goal fact');
    if (part === 'p') {
      kind = 'number';
      read = (ctx) => (ctx.goals && Object.hasOwn(ctx.goals, goal) ? ctx.goals[goal]?.p : null);
    } else {
      kind = 'enum';
      values = [...INTENTS];
      read = (ctx) =>
        ctx.goals && Object.hasOwn(ctx.goals, goal) ? ctx.goals[goal]?.bucket : null;
    }
  } else if (Object.hasOwn(FACTS, name)) {
    ({ kind, values } = must(FACTS[name], `fact ${name}`));
    read = (ctx) => ctx.facts[name];
  } else {
    return problem(
      c,
      `${path}.fact`,
      `unknown fact "${name}"; facts are ${Object.keys(FACTS).join(', ')}, affinity.<category>, trait.<name>, goal.<goal>.p, goal.<goal>.bucket`,
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

type Match = (e: WindowEntry) => boolean;

/**
 * The event filter of a count or a sequence step (`type`, `category`, `props`, `value`), and its
 * `within` when `keys` has it. Undefined after a problem.
 */
function eventFilter(
  c: Compiler,
  spec: Record<string, unknown>,
  at: string,
  keys: readonly string[],
): { match: Match; within: number | undefined } | undefined {
  for (const k of Object.keys(spec)) {
    if (!keys.includes(k))
      return void problem(c, `${at}.${k}`, `unknown key; this has ${keys.join(', ')}`);
  }
  const types = spec.type === undefined ? undefined : list(spec.type);
  if (spec.type !== undefined && !types)
    return void problem(c, `${at}.type`, 'an event type or a list of them');
  const cats = spec.category === undefined ? undefined : list(spec.category);
  if (spec.category !== undefined && !cats)
    return void problem(c, `${at}.category`, 'a category or a list of them');
  let within: number | undefined;
  if (keys.includes('within')) {
    within = parseDuration(spec.within);
    if (within === undefined)
      return void problem(c, `${at}.within`, 'a duration like "7d", "12h", "30m" or "90s"');
    if (within > c.windowMs) {
      return void problem(
        c,
        `${at}.within`,
        `${spec.within as string} is longer than the window log (segment.windowDays = ${c.windowMs / DAY}); raise windowDays`,
      );
    }
  }
  let props: [string, PropValue][] = [];
  if (spec.props !== undefined) {
    if (!isObject(spec.props) || Object.keys(spec.props).length === 0)
      return void problem(
        c,
        `${at}.props`,
        'an object of prop values to match, e.g. { "plan": "pro" }',
      );
    for (const [k, v] of Object.entries(spec.props)) {
      if (!isScalar(v))
        return void problem(c, `${at}.props.${k}`, 'a string, number, boolean or null');
    }
    props = Object.entries(spec.props) as [string, PropValue][];
    for (const [k] of props) c.props.add(k);
  }
  let valueTest: ((v: number | null | undefined) => boolean) | undefined;
  if (spec.value !== undefined) {
    if (!isObject(spec.value))
      return void problem(c, `${at}.value`, 'a comparison like { "gte": 100 }');
    const extraV = Object.keys(spec.value).filter((k) => !(OPS as readonly string[]).includes(k));
    if (extraV.length)
      return void problem(
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
    if (!cmp) return undefined;
    valueTest = (v) => compare(cmp.op, v ?? null, cmp.value);
    c.reads.add('count.value');
  }
  const match: Match = (e) =>
    (!types || types.includes(e[1])) &&
    (!cats || (e[2] !== null && cats.includes(e[2]))) &&
    (!valueTest || valueTest(e[4])) &&
    props.every(([k, v]) => e[5] !== undefined && Object.hasOwn(e[5], k) && e[5][k] === v);
  return { match, within };
}

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
  const filter = eventFilter(c, spec, at, ['type', 'category', 'within', 'props', 'value']);
  if (!filter) return () => false;
  const within = must(filter.within, 'count within');
  const cmp = comparison(c, node, path, (op, v) =>
    op !== 'exists' && typeof v === 'number' && Number.isInteger(v) && v >= 0
      ? undefined
      : 'a count compares with a whole number ≥ 0',
  );
  if (!cmp) return () => false;
  const { op, value } = cmp;
  if (!c.clock.windows.includes(within)) c.clock.windows.push(within);
  return (ctx) => compare(op, countMatching(ctx.window, ctx.now, within, filter.match), value);
}

/**
 * `{ "sequence": { "did": EVENT+within, "without": EVENT, "for"?: duration } }`: some `did` event
 * within the window is not followed by a `without` event ("viewed cameras but bought nothing
 * since"). With `for`, only a `without` event less than `for` after it counts, and the `did`
 * event matches only once `for` has passed ("a cart with no purchase within 24 hours": abandoned).
 * "After" includes the same millisecond: a purchase sent with its cart is not an abandonment.
 */
function compileSequence(c: Compiler, node: Record<string, unknown>, path: string): Test {
  const spec = node.sequence;
  const at = `${path}.sequence`;
  const extra = Object.keys(node).filter((k) => k !== 'sequence');
  if (extra.length) return problem(c, `${path}.${extra[0]}`, 'unknown key in a sequence condition');
  if (!isObject(spec))
    return problem(
      c,
      at,
      'an object like { "did": { "type": "add_to_cart", "within": "7d" }, "without": { "type": "purchase" }, "for": "24h" }',
    );
  for (const k of Object.keys(spec)) {
    if (!['did', 'without', 'for'].includes(k))
      return problem(c, `${at}.${k}`, 'unknown key; a sequence has did, without, for');
  }
  if (!isObject(spec.did))
    return problem(c, `${at}.did`, 'an event and its window: { "type": …, "within": "7d" }');
  if (!isObject(spec.without))
    return problem(c, `${at}.without`, 'the event that must not follow: { "type": "purchase" }');
  const did = eventFilter(c, spec.did, `${at}.did`, [
    'type',
    'category',
    'within',
    'props',
    'value',
  ]);
  const without = eventFilter(c, spec.without, `${at}.without`, [
    'type',
    'category',
    'props',
    'value',
  ]);
  let wait: number | undefined;
  if (spec.for !== undefined) {
    wait = parseDuration(spec.for);
    if (wait === undefined) return problem(c, `${at}.for`, 'a duration like "24h", "30m" or "2d"');
    if (did?.within !== undefined && wait >= did.within)
      return problem(
        c,
        `${at}.for`,
        `shorter than did.within (${spec.did.within as string}): a ${spec.for as string} wait would need an older event than the window keeps`,
      );
  }
  if (!did || !without) return () => false;
  const within = must(did.within, 'sequence within');
  for (const w of wait === undefined ? [within] : [within, wait])
    if (!c.clock.windows.includes(w)) c.clock.windows.push(w);
  const followed = without.match;
  return (ctx) => {
    const from = ctx.now - within;
    const w = ctx.window;
    // The `without` events of the window first (a window log's worth at most): one in the same
    // millisecond may stand before its `did` event in the log.
    const after: number[] = [];
    for (let i = w.length - 1; i >= 0; i--) {
      const e = must(w[i], 'window entry');
      if (e[0] > ctx.now) continue;
      if (e[0] <= from) break;
      if (followed(e)) after.push(e[0]);
    }
    for (let i = w.length - 1; i >= 0; i--) {
      const e = must(w[i], 'window entry');
      if (e[0] > ctx.now) continue;
      if (e[0] <= from) break;
      if (!did.match(e)) continue;
      const t = e[0];
      if (wait === undefined) {
        if (!after.some((u) => u >= t)) return true;
      } else if (ctx.now - t >= wait && !after.some((u) => u >= t && u - t < wait)) return true;
    }
    return false;
  };
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
  if (!isObject(node))
    return problem(c, path, 'a condition object: all, any, not, fact, count or sequence');
  const kinds = ['all', 'any', 'not', 'fact', 'count', 'sequence'].filter((k) => k in node);
  if (kinds.length !== 1) {
    return problem(
      c,
      path,
      kinds.length
        ? `one of all/any/not/fact/count/sequence per condition, found ${kinds.join(' and ')}`
        : 'a condition needs one of all, any, not, fact, count, sequence',
    );
  }
  const kind = must(kinds[0], 'condition kind');
  if (kind === 'fact') return compileFact(c, node, path);
  if (kind === 'count') return compileCount(c, node, path);
  if (kind === 'sequence') return compileSequence(c, node, path);
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
