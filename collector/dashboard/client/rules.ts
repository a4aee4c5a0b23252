/**
 * The rule builder's client (the form of /dashboard/rules/new and /…/edit). The form works
 * without it: its textarea holds the rule's condition as JSON and Preview is a button. With it,
 * conditions are picked from lists (event counts in a window, affinity share, the profile's facts,
 * traits, "did X without Y"), the JSON follows every change, and the preview count updates as you
 * edit (debounced, one request at a time, announced politely when it settles). A condition the
 * lists cannot show (nested all/any, lists of types, props filters) is edited as JSON only.
 * Elements are built with DOM calls and `textContent`: names come from whoever sent events.
 */
import { dashFetch } from './csrf.ts';

interface Vocabulary {
  facts: {
    name: string;
    kind: 'enum' | 'string' | 'number' | 'boolean' | 'any';
    values?: string[];
  }[];
  windowDays: number;
  eventTypes: string[];
  categories: string[];
}

type Op = 'eq' | 'ne' | 'gt' | 'gte' | 'lt' | 'lte' | 'between' | 'in' | 'exists';
type Unit = 'd' | 'h' | 'm';
type Cond = Record<string, unknown>;

/** One condition row, as the lists show it. */
type Row =
  | {
      kind: 'count';
      not: boolean;
      type: string;
      category: string;
      n: number;
      unit: Unit;
      op: Op;
      value: number;
    }
  | { kind: 'affinity'; not: boolean; category: string; op: Op; value: number }
  | { kind: 'fact'; not: boolean; fact: string; op: Op; value: unknown }
  | { kind: 'trait'; not: boolean; trait: string; op: Op; value: unknown }
  | {
      kind: 'sequence';
      not: boolean;
      did: string;
      didCategory: string;
      n: number;
      unit: Unit;
      without: string;
      forN: number | null;
      forUnit: Unit;
    };

const KINDS: Record<Row['kind'], string> = {
  count: 'Events in a window',
  affinity: 'Interest share of a category',
  fact: 'Profile fact',
  trait: 'Trait',
  sequence: 'Did one thing, not another after',
};

const OP_LABELS: Record<Op, string> = {
  gte: 'at least',
  gt: 'more than',
  eq: 'is',
  ne: 'is not',
  lte: 'at most',
  lt: 'less than',
  between: 'between',
  in: 'is one of',
  exists: 'is set',
};
const NUMBER_OPS: Op[] = ['gte', 'gt', 'eq', 'lte', 'lt', 'between'];
const UNITS: Record<Unit, string> = { d: 'days', h: 'hours', m: 'minutes' };
const DEBOUNCE_MS = 400;

const isObj = (v: unknown): v is Cond => typeof v === 'object' && v !== null && !Array.isArray(v);
const OPS: Op[] = ['eq', 'ne', 'gt', 'gte', 'lt', 'lte', 'between', 'in', 'exists'];

/** The one comparison of a condition object, if it has exactly one and nothing else but `keys`. */
function comparisonOf(c: Cond, keys: string[]): { op: Op; value: unknown } | null {
  const ops = Object.keys(c).filter((k) => OPS.includes(k as Op)) as Op[];
  const others = Object.keys(c).filter((k) => !OPS.includes(k as Op) && !keys.includes(k));
  const op = ops[0];
  return ops.length === 1 && op && others.length === 0 ? { op, value: c[op] } : null;
}

function duration(v: unknown): { n: number; unit: Unit } | null {
  const m = typeof v === 'string' ? /^(\d+(?:\.\d+)?)([dhm])$/.exec(v) : null;
  return m ? { n: Number(m[1]), unit: m[2] as Unit } : null;
}

const onlyKeys = (c: Cond, keys: string[]) => Object.keys(c).every((k) => keys.includes(k));
const optString = (v: unknown) => (v === undefined ? '' : typeof v === 'string' ? v : null);

/** A condition as a row, or null when the lists cannot show it. */
export function rowOf(cond: unknown): Row | null {
  if (!isObj(cond)) return null;
  if ('not' in cond) {
    if (!onlyKeys(cond, ['not'])) return null;
    const inner = rowOf(cond.not);
    return inner && !inner.not ? { ...inner, not: true } : null;
  }
  if ('count' in cond) {
    const spec = cond.count;
    const cmp = comparisonOf(cond, ['count']);
    if (!isObj(spec) || !cmp || !onlyKeys(spec, ['type', 'category', 'within'])) return null;
    const d = duration(spec.within);
    const type = optString(spec.type);
    const category = optString(spec.category);
    if (!d || type === null || category === null || typeof cmp.value !== 'number') return null;
    if (!['gte', 'gt', 'eq', 'lte', 'lt'].includes(cmp.op)) return null;
    return { kind: 'count', not: false, type, category, ...d, op: cmp.op, value: cmp.value };
  }
  if ('sequence' in cond) {
    const s = cond.sequence;
    if (!onlyKeys(cond, ['sequence']) || !isObj(s) || !onlyKeys(s, ['did', 'without', 'for']))
      return null;
    const { did, without } = s;
    if (!isObj(did) || !isObj(without)) return null;
    if (!onlyKeys(did, ['type', 'category', 'within']) || !onlyKeys(without, ['type'])) return null;
    const d = duration(did.within);
    const f = s.for === undefined ? null : duration(s.for);
    if (!d || (s.for !== undefined && !f)) return null;
    if (typeof did.type !== 'string' || typeof without.type !== 'string') return null;
    const didCategory = optString(did.category);
    if (didCategory === null) return null;
    return {
      kind: 'sequence',
      not: false,
      did: did.type,
      didCategory,
      ...d,
      without: without.type,
      forN: f?.n ?? null,
      forUnit: f?.unit ?? 'h',
    };
  }
  if (typeof cond.fact === 'string') {
    const cmp = comparisonOf(cond, ['fact']);
    if (!cmp) return null;
    const fact = cond.fact;
    if (fact.startsWith('affinity.'))
      return typeof cmp.value === 'number' && ['gte', 'gt', 'lte', 'lt'].includes(cmp.op)
        ? { kind: 'affinity', not: false, category: fact.slice(9), op: cmp.op, value: cmp.value }
        : null;
    if (fact.startsWith('trait.'))
      return cmp.op === 'in' ? null : { kind: 'trait', not: false, trait: fact.slice(6), ...cmp };
    return { kind: 'fact', not: false, fact, ...cmp };
  }
  return null;
}

/** The rows of a rule's `when`: its top-level all/any, or one condition; null: JSON only. */
export function rowsOf(when: unknown): { match: 'all' | 'any'; rows: Row[] } | null {
  if (isObj(when) && Object.keys(when).length === 1) {
    for (const match of ['all', 'any'] as const) {
      const list = when[match];
      if (Array.isArray(list)) {
        const rows = list.map(rowOf);
        return rows.every((r): r is Row => r !== null) ? { match, rows } : null;
      }
    }
  }
  const row = rowOf(when);
  return row ? { match: 'all', rows: [row] } : null;
}

/** A row as a condition of the rule language (docs/segments.md). */
export function condOf(row: Row): Cond {
  let c: Cond;
  switch (row.kind) {
    case 'count': {
      const spec: Cond = {};
      if (row.type) spec.type = row.type;
      if (row.category) spec.category = row.category;
      spec.within = `${row.n}${row.unit}`;
      c = { count: spec, [row.op]: row.value };
      break;
    }
    case 'affinity':
      c = { fact: `affinity.${row.category}`, [row.op]: row.value };
      break;
    case 'fact':
      c = { fact: row.fact, [row.op]: row.value };
      break;
    case 'trait':
      c = { fact: `trait.${row.trait}`, [row.op]: row.value };
      break;
    case 'sequence': {
      const did: Cond = { type: row.did };
      if (row.didCategory) did.category = row.didCategory;
      did.within = `${row.n}${row.unit}`;
      c = { sequence: { did, without: { type: row.without } } };
      if (row.forN !== null) (c.sequence as Cond).for = `${row.forN}${row.forUnit}`;
      break;
    }
  }
  return row.not ? { not: c } : c;
}

export function whenOf(match: 'all' | 'any', rows: Row[]): unknown {
  const first = rows[0];
  if (rows.length === 1 && first) return condOf(first);
  return { [match]: rows.map(condOf) };
}

/** A trait's typed value: numbers and true/false compare as such, the rest as text. */
function typed(text: string): unknown {
  const t = text.trim();
  if (t === 'true') return true;
  if (t === 'false') return false;
  if (t !== '' && Number.isFinite(Number(t))) return Number(t);
  return text;
}

function el<K extends keyof HTMLElementTagNameMap>(tag: K, cls?: string, text?: string) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
}

export function initRules(): void {
  const form = document.getElementById('rule-form') as HTMLFormElement | null;
  const box = document.getElementById('rule-builder') as HTMLFieldSetElement | null;
  const json = document.getElementById('rule-when') as HTMLTextAreaElement | null;
  const result = document.getElementById('rule-preview');
  const sample = document.getElementById('rule-sample');
  const url = form?.dataset.preview;
  if (!form || !box || !json || !result || !sample || !url) return;
  const status: HTMLElement = result;
  const vocab = JSON.parse(form.dataset.vocabulary ?? '{}') as Vocabulary;
  const facts = new Map(vocab.facts.map((f) => [f.name, f]));

  // Lists the text inputs suggest from (others may be typed: a type the config does not name).
  const datalist = (id: string, values: string[]) => {
    const dl = el('datalist');
    dl.id = id;
    for (const v of values) dl.append(new Option(v, v));
    form.append(dl);
  };
  datalist('rule-types', vocab.eventTypes);
  datalist('rule-categories', vocab.categories);

  let match: 'all' | 'any' = 'all';
  let rows: Row[] = [];
  const head = el('p', 'match');
  const matchSelect = el('select');
  matchSelect.id = 'rule-match';
  matchSelect.append(new Option('all of', 'all'), new Option('any of', 'any'));
  const matchLabel = el('label', undefined, 'Members match ');
  matchLabel.htmlFor = 'rule-match';
  head.append(matchLabel, matchSelect, ' these conditions:');
  const list = el('ol', 'cond-list');
  const add = el('button', 'secondary', 'Add condition');
  add.type = 'button';
  const jsonOnly = el(
    'p',
    'note',
    'This condition uses parts the lists cannot show (nesting, lists of types, props): edit its JSON below.',
  );
  const rebuild = el('button', 'secondary', 'Start over with the lists');
  rebuild.type = 'button';
  jsonOnly.append(' ', rebuild);
  box.append(head, list, add, jsonOnly);
  box.hidden = false;

  const defaults: Record<Row['kind'], () => Row> = {
    count: () => ({
      kind: 'count',
      not: false,
      type: 'page_view',
      category: '',
      n: 7,
      unit: 'd',
      op: 'gte',
      value: 3,
    }),
    affinity: () => ({
      kind: 'affinity',
      not: false,
      category: vocab.categories[0] ?? '',
      op: 'gte',
      value: 0.5,
    }),
    fact: () => ({ kind: 'fact', not: false, fact: 'lifecycle', op: 'eq', value: 'loyalist' }),
    trait: () => ({ kind: 'trait', not: false, trait: 'region', op: 'eq', value: '' }),
    sequence: () => ({
      kind: 'sequence',
      not: false,
      did: 'add_to_cart',
      didCategory: '',
      n: 7,
      unit: 'd',
      without: 'purchase',
      forN: 24,
      forUnit: 'h',
    }),
  };

  /** What a fact row may compare with, by the fact's kind. */
  const factOps = (fact: string): Op[] => {
    const kind = facts.get(fact)?.kind ?? 'any';
    if (kind === 'enum') return ['eq', 'ne', 'in'];
    if (kind === 'boolean') return ['eq'];
    if (kind === 'number') return NUMBER_OPS;
    return ['eq', 'ne'];
  };
  const factDefault = (fact: string, op: Op): unknown => {
    const f = facts.get(fact);
    if (op === 'between') return [0, 10];
    if (f?.kind === 'enum') return op === 'in' ? [f.values?.[0] ?? ''] : (f.values?.[0] ?? '');
    if (f?.kind === 'boolean') return true;
    if (f?.kind === 'number') return 1;
    return '';
  };

  // ----- the JSON and the preview follow the rows -----
  let timer: number | undefined;
  let inflight: AbortController | undefined;
  let asked = 0;
  const preview = () => {
    clearTimeout(timer);
    timer = window.setTimeout(runPreview, DEBOUNCE_MS);
  };
  const settle = (text: string, items: { id: string; href: string }[] = []) => {
    result.removeAttribute('aria-busy');
    result.textContent = text;
    sample.replaceChildren(
      ...items.map((s) => {
        const li = el('li');
        const a = el('a', undefined, s.id);
        a.href = s.href;
        li.append(a);
        return li;
      }),
    );
  };
  async function runPreview() {
    let when: unknown;
    try {
      when = JSON.parse(json?.value ?? '');
    } catch (err) {
      settle(`The JSON is not valid yet: ${(err as Error).message}`);
      return;
    }
    inflight?.abort();
    const ctl = new AbortController();
    inflight = ctl;
    const mine = ++asked;
    status.setAttribute('aria-busy', 'true');
    try {
      const res = await dashFetch(url ?? '', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ when }),
        signal: ctl.signal,
      });
      const body = await res.json();
      if (mine !== asked) return;
      if (res.ok) settle(body.sentence, body.sample);
      else if (res.status === 429) {
        // Others are previewing: try again shortly rather than show a stale count as current.
        status.removeAttribute('aria-busy');
        window.setTimeout(preview, 1000);
      } else settle(`Not counted: ${body.message}`);
    } catch (err) {
      if ((err as Error).name === 'AbortError') return;
      if (mine === asked) settle('Not counted: the collector did not answer.');
    }
  }
  const changed = () => {
    json.value = JSON.stringify(whenOf(match, rows), null, 2);
    preview();
  };

  // ----- the rows -----
  const control = <T extends HTMLInputElement | HTMLSelectElement>(
    e: T,
    i: number,
    label: string,
    key: string,
  ): T => {
    e.setAttribute('aria-label', `Condition ${i + 1}: ${label}`);
    e.dataset.key = key;
    return e;
  };
  const select = (
    i: number,
    label: string,
    key: string,
    options: [string, string][],
    value: string,
  ) => {
    const s = control(el('select'), i, label, key);
    for (const [v, text] of options) s.append(new Option(text, v, false, v === value));
    return s;
  };
  const text = (i: number, label: string, key: string, value: string, listId?: string) => {
    const t = control(el('input'), i, label, key);
    t.type = 'text';
    t.value = value;
    if (listId) t.setAttribute('list', listId);
    return t;
  };
  const num = (i: number, label: string, key: string, value: number | null, step = 'any') => {
    const t = control(el('input'), i, label, key);
    t.type = 'number';
    t.step = step;
    t.value = value === null ? '' : String(value);
    return t;
  };
  const opSelect = (i: number, ops: Op[], op: Op) =>
    select(
      i,
      'comparison',
      'op',
      ops.map((o) => [o, OP_LABELS[o]]),
      op,
    );
  const unitSelect = (i: number, key: string, unit: Unit) =>
    select(
      i,
      key === 'unit' ? 'window unit' : 'wait unit',
      key,
      Object.entries(UNITS) as [Unit, string][],
      unit,
    );

  /** The value controls of a fact or trait row, for its comparison. */
  function valueControls(i: number, row: Row & { kind: 'fact' | 'trait' }): HTMLElement[] {
    const f = row.kind === 'fact' ? facts.get(row.fact) : undefined;
    if (row.op === 'between') {
      const [lo, hi] = Array.isArray(row.value) ? row.value : [0, 0];
      return [
        num(i, 'low', 'lo', Number(lo)),
        el('span', undefined, 'and'),
        num(i, 'high', 'hi', Number(hi)),
      ];
    }
    if (row.op === 'exists')
      return [
        select(
          i,
          'set or not',
          'exists',
          [
            ['true', 'yes'],
            ['false', 'no'],
          ],
          String(row.value),
        ),
      ];
    if (f?.kind === 'enum') {
      const values = f.values ?? [];
      const s = select(
        i,
        'value',
        'value',
        values.map((v) => [v, v.replace(/_/g, ' ')]),
        String(row.value),
      );
      if (row.op === 'in') {
        s.multiple = true;
        s.size = Math.min(values.length, 5);
        const chosen = Array.isArray(row.value) ? row.value : [];
        for (const o of s.options) o.selected = chosen.includes(o.value);
      }
      return [s];
    }
    if (f?.kind === 'boolean')
      return [
        select(
          i,
          'value',
          'value',
          [
            ['true', 'yes'],
            ['false', 'no'],
          ],
          String(row.value),
        ),
      ];
    if (f?.kind === 'number') return [num(i, 'value', 'value', Number(row.value))];
    const t = text(
      i,
      'value',
      'value',
      row.value === null ? '' : String(row.value),
      row.kind === 'fact' && row.fact === 'category' ? 'rule-categories' : undefined,
    );
    return [t];
  }

  function rowElement(row: Row, i: number): HTMLLIElement {
    const li = el('li', 'cond');
    const parts: (HTMLElement | string)[] = [];
    const not = control(el('input'), i, 'not', 'not');
    not.type = 'checkbox';
    not.checked = row.not;
    const notLabel = el('label', 'not');
    notLabel.append(not, ' not');
    parts.push(select(i, 'kind', 'kind', Object.entries(KINDS) as [string, string][], row.kind));
    switch (row.kind) {
      case 'count':
        parts.push(
          opSelect(i, ['gte', 'gt', 'eq', 'lte', 'lt'], row.op),
          num(i, 'how many', 'value', row.value, '1'),
          text(i, 'event type (empty: any)', 'type', row.type, 'rule-types'),
          'events in',
          text(i, 'category (empty: any)', 'category', row.category, 'rule-categories'),
          'within',
          num(i, 'window length', 'n', row.n),
          unitSelect(i, 'unit', row.unit),
        );
        break;
      case 'affinity':
        parts.push(
          text(i, 'category', 'category', row.category, 'rule-categories'),
          opSelect(i, ['gte', 'gt', 'lte', 'lt'], row.op),
          num(i, 'share from 0 to 1', 'value', row.value, '0.05'),
        );
        break;
      case 'fact':
        parts.push(
          select(
            i,
            'fact',
            'fact',
            vocab.facts.map((f) => [f.name, f.name]),
            row.fact,
          ),
          opSelect(i, factOps(row.fact), row.op),
          ...valueControls(i, row),
        );
        break;
      case 'trait':
        parts.push(
          text(i, 'trait name', 'trait', row.trait),
          opSelect(i, ['eq', 'ne', 'gte', 'gt', 'lte', 'lt', 'between', 'exists'], row.op),
          ...valueControls(i, row),
        );
        break;
      case 'sequence':
        parts.push(
          text(i, 'event done', 'did', row.did, 'rule-types'),
          text(i, 'its category (empty: any)', 'didCategory', row.didCategory, 'rule-categories'),
          'within',
          num(i, 'window length', 'n', row.n),
          unitSelect(i, 'unit', row.unit),
          'and no',
          text(i, 'event not done after', 'without', row.without, 'rule-types'),
          'within',
          num(i, 'wait (empty: ever)', 'forN', row.forN),
          unitSelect(i, 'forUnit', row.forUnit),
        );
        break;
    }
    const remove = el('button', 'secondary remove', 'Remove');
    remove.type = 'button';
    remove.setAttribute('aria-label', `Remove condition ${i + 1}`);
    remove.dataset.key = 'remove';
    li.append(notLabel, ...parts.flatMap((p) => [p, ' ']), remove);
    li.dataset.index = String(i);
    return li;
  }

  function render(focus?: { i: number; key: string }) {
    matchSelect.value = match;
    list.replaceChildren(...rows.map(rowElement));
    for (const e of [head, list, add]) e.hidden = false;
    jsonOnly.hidden = true;
    if (focus)
      list.children[focus.i]?.querySelector<HTMLElement>(`[data-key="${focus.key}"]`)?.focus();
  }
  const showJsonOnly = () => {
    for (const e of [head, list, add]) e.hidden = true;
    jsonOnly.hidden = false;
  };

  /** Reads a changed control into its row; true when the row's controls must be rebuilt. */
  function update(row: Row, key: string, e: HTMLInputElement | HTMLSelectElement): Row | null {
    const v = e.value;
    const n = v === '' ? null : Number(v);
    const r = row as Record<string, unknown>;
    if (key === 'kind') return defaults[v as Row['kind']]();
    if (key === 'not') return { ...row, not: (e as HTMLInputElement).checked };
    if (row.kind === 'fact' && key === 'fact')
      return { ...row, fact: v, op: 'eq', value: factDefault(v, 'eq') };
    if ((row.kind === 'fact' || row.kind === 'trait') && key === 'op') {
      const op = v as Op;
      const value =
        row.kind === 'fact'
          ? factDefault(row.fact, op)
          : op === 'between'
            ? [0, 10]
            : op === 'exists'
              ? true
              : row.value;
      return { ...row, op, value };
    }
    if (key === 'op') return { ...row, op: v as Op } as Row;
    if ((row.kind === 'fact' || row.kind === 'trait') && (key === 'lo' || key === 'hi')) {
      const [lo, hi] = Array.isArray(row.value) ? row.value : [0, 0];
      r.value = key === 'lo' ? [n ?? 0, hi] : [lo, n ?? 0];
      return null;
    }
    if ((row.kind === 'fact' || row.kind === 'trait') && key === 'exists') {
      r.value = v === 'true';
      return null;
    }
    if ((row.kind === 'fact' || row.kind === 'trait') && key === 'value') {
      const f = row.kind === 'fact' ? facts.get(row.fact) : undefined;
      if (e instanceof HTMLSelectElement && e.multiple)
        r.value = [...e.selectedOptions].map((o) => o.value);
      else if (f?.kind === 'boolean') r.value = v === 'true';
      else if (f?.kind === 'number') r.value = n ?? 0;
      else if (f?.kind === 'enum' || f?.kind === 'string') r.value = v;
      else r.value = typed(v);
      return null;
    }
    if (key === 'forN') r.forN = n;
    else if (['n', 'value'].includes(key)) r[key] = n ?? 0;
    else r[key] = v;
    return null;
  }

  const onEdit = (ev: Event) => {
    const e = ev.target as HTMLInputElement | HTMLSelectElement;
    const li = e.closest<HTMLLIElement>('li.cond');
    const key = e.dataset.key;
    if (!li || !key) return;
    const i = Number(li.dataset.index);
    const row = rows[i];
    if (!row) return;
    const next = update(row, key, e);
    if (next) {
      rows[i] = next;
      render({ i, key });
    }
    changed();
  };
  // Text, number, select and checkbox all report `input` on each change.
  list.addEventListener('input', onEdit);
  list.addEventListener('click', (ev) => {
    const b = (ev.target as HTMLElement).closest<HTMLButtonElement>('button.remove');
    const li = b?.closest<HTMLLIElement>('li.cond');
    if (!li) return;
    rows.splice(Number(li.dataset.index), 1);
    if (rows.length === 0) rows.push(defaults.count());
    render();
    add.focus();
    changed();
  });
  add.addEventListener('click', () => {
    rows.push(defaults.count());
    render({ i: rows.length - 1, key: 'kind' });
    changed();
  });
  matchSelect.addEventListener('change', () => {
    match = matchSelect.value === 'any' ? 'any' : 'all';
    changed();
  });
  rebuild.addEventListener('click', () => {
    match = 'all';
    rows = [defaults.count()];
    render({ i: 0, key: 'kind' });
    changed();
  });
  // Typing the JSON: the lists follow when they can show it.
  json.addEventListener('input', () => {
    try {
      const parsed = rowsOf(JSON.parse(json.value));
      if (parsed) {
        ({ match, rows } = parsed);
        render();
      } else showJsonOnly();
    } catch {
      // Not JSON yet: the lists keep the last good state until it is.
    }
    preview();
  });

  // Start from the form's JSON (a template, a saved rule, or what was sent back).
  let initial: ReturnType<typeof rowsOf> = null;
  try {
    initial = rowsOf(JSON.parse(json.value));
  } catch {
    initial = null;
  }
  if (initial) {
    ({ match, rows } = initial);
    render();
  } else showJsonOnly();
  preview();
}
