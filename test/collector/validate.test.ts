import { describe, expect, it } from 'vitest';
import { LIMITS } from '../../shared/limits.ts';
import {
  eventSchema,
  ID_PATTERN,
  idSchema,
  parseBatch,
  plainEvent,
  batchSchema,
  validateEvents,
} from '../../collector/ingest/validate.ts';
import { prng } from '../reliability/fuzz.ts';

describe('ids', () => {
  it('ID_PATTERN (GET /v1/segment, no zod) accepts exactly what idSchema accepts', () => {
    const max = 'a'.repeat(LIMITS.idLength);
    const cases = [
      'v1',
      'A-z_0',
      max,
      `${max}a`,
      '',
      'a b',
      'é',
      'a.b',
      'a\n',
      '\na',
      'c:1',
      '__proto__',
    ];
    for (const s of cases)
      expect(ID_PATTERN.test(s), JSON.stringify(s)).toBe(idSchema.safeParse(s).success);
    expect(cases.filter((s) => ID_PATTERN.test(s))).toEqual(['v1', 'A-z_0', max, '__proto__']);
  });
});

describe('text stored in columns of its own', () => {
  it('refuses a NUL character in url, ref, target and category (PostgreSQL text cannot hold one), keeps it in props', () => {
    for (const k of ['url', 'ref', 'target', 'category']) {
      const item = { id: 'e', type: 'page_view', ts: 1, [k]: 'a\u0000b' };
      expect(plainEvent(item), k).toBeUndefined();
      const zod = eventSchema.safeParse(item);
      expect(zod.success, k).toBe(false);
      expect(JSON.stringify(zod.error?.issues), k).toContain('no NUL (U+0000) character');
    }
    expect(
      eventSchema.safeParse({ id: 'e', type: 't', ts: 1, props: { a: 'x\u0000' } }).success,
    ).toBe(true);
  });
});

describe('plainEvent (the common event checked without zod)', () => {
  const id = 'a'.repeat(LIMITS.idLength);
  const url = 'u'.repeat(LIMITS.urlLength);
  const bases: Record<string, unknown>[] = [
    { id: 'e1', type: 'page_view', ts: 1, url: 'https://s/', category: 'cameras', nav: 'load' },
    { id: 'e2', type: 'click', ts: 2, session: 's1', target: 'https://t/', outbound: true },
    { id: 'e3', type: 'add_to_cart', ts: 3, value: 12.5, currency: 'EUR', ref: '' },
    { id: 'e4', type: 'purchase', ts: 4, value: 10 },
    { id: 'e5', type: 'a.b:c-d_e', ts: 0 },
  ];
  // Values at and past each rule's edge, of the right and the wrong type.
  const values: unknown[] = [
    undefined,
    null,
    '',
    'x',
    id,
    `${id}a`,
    'a b',
    'é',
    'a\u0000b',
    '\u0000',
    url,
    `${url}u`,
    'c'.repeat(LIMITS.categoryLength + 1),
    't'.repeat(LIMITS.typeLength + 1),
    'load',
    'spa',
    'EUR',
    'eu',
    'EURO',
    '€UR',
    0,
    -1,
    1.5,
    2 ** 53,
    Number.MAX_SAFE_INTEGER,
    LIMITS.maxValue,
    LIMITS.maxValue + 1,
    -LIMITS.maxValue,
    -LIMITS.maxValue - 1,
    true,
    false,
    [],
    {},
    { source: 'x' },
    { plan: 'pro' },
  ];
  const keys = [
    'id',
    'type',
    'ts',
    'session',
    'url',
    'ref',
    'category',
    'nav',
    'target',
    'outbound',
    'value',
    'currency',
    'props',
    'utm',
    'other',
  ];

  it('passes only what eventSchema passes, as the same data; and passes the common events', () => {
    const rnd = prng(7);
    const pick = <T>(xs: T[]) => xs[Math.floor(rnd() * xs.length)] as T;
    let fast = 0;
    for (let i = 0; i < 20_000; i++) {
      const item: Record<string, unknown> = { ...pick(bases) };
      for (let m = Math.floor(rnd() * 3); m > 0; m--) {
        const k = pick(keys);
        const v = pick(values);
        if (v === undefined) delete item[k];
        else item[k] = v;
      }
      const plain = plainEvent(item);
      const zod = eventSchema.safeParse(item);
      if (plain !== undefined) {
        fast++;
        expect(zod.success, JSON.stringify(item)).toBe(true);
        expect(plain).toEqual(zod.data);
      }
    }
    for (const b of bases) expect(plainEvent(b)).toBe(b);
    expect(fast).toBeGreaterThan(3_000);
    // JSON's own `__proto__` key, props and utm are for the schema to judge.
    expect(plainEvent(JSON.parse('{"id":"e","type":"t","ts":1,"__proto__":{}}'))).toBeUndefined();
    expect(plainEvent({ ...bases[0], props: { plan: 'pro' } })).toBeUndefined();
  });

  it('a negative purchase is still refused with its reason', () => {
    const { valid, refused } = validateEvents([{ id: 'p', type: 'purchase', ts: 1, value: -5 }], 1);
    expect(valid).toEqual([]);
    expect(refused[0]?.message).toContain('a purchase value is at least 0');
  });
});

describe('parseBatch (the batch envelope without zod)', () => {
  it('gives the schema verdict and data, and the body itself when it passes', () => {
    const id = 'a'.repeat(LIMITS.idLength);
    const base = { site: 'demo', visitor: 'v1', events: [{}] };
    const variants: Record<string, unknown>[] = [
      {},
      { site: '' },
      { site: id },
      { site: `${id}a` },
      { visitor: 'a b' },
      { visitor: `${id}a` },
      { events: [] },
      { events: {} },
      { webdriver: true },
      { webdriver: 'yes' },
      { token: 't'.repeat(1024) },
      { token: 't'.repeat(1025) },
      { token: 5 },
      { traits: { a: 1 } },
      { traits: null },
      { dropped: 0 },
      { dropped: -1 },
      { dropped: 1.5 },
      { dropped: 2 ** 53 },
      { extra: 1 },
    ];
    let fast = 0;
    for (const a of variants)
      for (const b of variants) {
        const body = { ...base, ...a, ...b };
        const mine = parseBatch(body);
        const zod = batchSchema.safeParse(body);
        expect(mine.success, JSON.stringify(body)).toBe(zod.success);
        if (mine.success) expect(mine.data).toEqual(zod.data);
        if (mine.data === body) fast++;
      }
    expect(fast).toBeGreaterThan(40);
    expect(parseBatch(null).success).toBe(false);
    expect(
      parseBatch(JSON.parse('{"site":"s","visitor":"v","events":[1],"__proto__":1}')).success,
    ).toBe(false);
  });
});
