import { describe, expect, it } from 'vitest';
import { ConfigError, parseConfig } from '../../collector/config/config.ts';
import { evaluate, type EngineEvent } from '../../collector/engine/index.ts';
import { parseDuration } from '../../collector/engine/rules.ts';
import { build, DAY, e, MIN, subject, T0, withRules } from './fixtures.ts';

const cameraIntent = {
  all: [
    { count: { type: 'page_view', category: 'cameras', within: '7d' }, gte: 3 },
    { count: { type: 'purchase', within: '7d' }, eq: 0 },
  ],
};

describe('custom rules: evaluation', () => {
  const cfg = withRules({ 'camera-intent': cameraIntent });
  const views = [
    e({ ts: T0, category: 'cameras' }),
    e({ ts: T0 + DAY, category: 'cameras' }),
    e({ ts: T0 + 2 * DAY, category: 'cameras' }),
  ];
  const member = (events: EngineEvent[], now: number) =>
    evaluate(build(events, cfg), subject, cfg, now).segments.includes('camera-intent');

  it.each([
    ['two views', views.slice(0, 2), T0 + 2 * DAY, false],
    ['three views', views, T0 + 2 * DAY, true],
    ['6d23h59m after the first', views, T0 + 7 * DAY - MIN, true],
    ['a minute after the first falls out', views, T0 + 7 * DAY + MIN, false],
    [
      'three views and a purchase',
      [...views, e({ ts: T0 + 2 * DAY, type: 'purchase', value: 5 })],
      T0 + 2 * DAY,
      false,
    ],
    [
      'three clicks are not page views',
      views.map((v) => ({ ...v, type: 'click' })),
      T0 + 2 * DAY,
      false,
    ],
  ] as [string, EngineEvent[], number, boolean][])('%s → %s', (_n, events, now, expected) => {
    expect(member(events, now)).toBe(expected);
  });

  const facts = (
    rule: unknown,
    events: EngineEvent[],
    now = T0,
    traits?: Record<string, unknown>,
  ) => {
    const c = withRules({ r: rule });
    return (
      evaluate(build(events, c), { ...subject, known: traits !== undefined }, c, now, { traits })
        .segments.length === 1
    );
  };
  const buy = (value: number, ts = T0) => e({ ts, type: 'purchase', value, category: 'tv' });

  it.each([
    ['lifecycle eq', { fact: 'lifecycle', eq: 'newbie' }, [e({ ts: T0 })], true],
    ['lifecycle in', { fact: 'lifecycle', in: ['loyalist', 'new_customer'] }, [buy(5)], true],
    ['category ne', { fact: 'category', ne: 'tv' }, [buy(5)], false],
    [
      'category of no activity is missing',
      { fact: 'category', exists: false },
      [e({ ts: T0 })],
      true,
    ],
    ['rfm.label', { fact: 'rfm.label', eq: 'new_customer' }, [buy(5)], true],
    [
      'rfm of a non-customer matches nothing but exists:false',
      { fact: 'rfm.r', lt: 9 },
      [e({ ts: T0 })],
      false,
    ],
    ['purchases.total gte', { fact: 'purchases.total', gte: 100 }, [buy(60), buy(40)], true],
    [
      'purchases.lastValue',
      { fact: 'purchases.lastValue', gt: 50 },
      [buy(60), buy(40, T0 + 1)],
      false,
    ],
    ['cooldown', { fact: 'cooldown', eq: true }, [buy(2000)], true],
    ['affinity share', { fact: 'affinity.tv', gte: 0.5 }, [buy(5)], true],
    ['affinity of an unseen category is 0', { fact: 'affinity.cameras', eq: 0 }, [buy(5)], true],
    [
      'days since first seen',
      { fact: 'days.sinceFirstSeen', gte: 2 },
      [e({ ts: T0 - 2 * DAY })],
      true,
    ],
    [
      'engagement any',
      {
        any: [
          { fact: 'engagement', eq: 'hot' },
          { fact: 'engagement', eq: 'active' },
        ],
      },
      [e({ ts: T0 })],
      true,
    ],
    ['not', { not: { fact: 'lifecycle', eq: 'newbie' } }, [e({ ts: T0 })], false],
    [
      'count with value filter',
      { count: { type: 'purchase', within: '30d', value: { gte: 100 } }, gte: 1 },
      [buy(99), buy(100)],
      true,
    ],
    [
      'count with value filter, none big',
      { count: { type: 'purchase', within: '30d', value: { gte: 100 } }, gte: 1 },
      [buy(99)],
      false,
    ],
    [
      'count over categories list',
      { count: { category: ['tv', 'audio'], within: '1h' }, eq: 2 },
      [buy(1), e({ ts: T0, category: 'audio' })],
      true,
    ],
    [
      'count with props',
      { count: { type: 'signup', within: '1d', props: { plan: 'pro' } }, gte: 1 },
      [e({ ts: T0, type: 'signup', props: { plan: 'pro' } })],
      true,
    ],
    [
      'count with props, other value',
      { count: { type: 'signup', within: '1d', props: { plan: 'pro' } }, gte: 1 },
      [e({ ts: T0, type: 'signup', props: { plan: 'free' } })],
      false,
    ],
  ] as [string, unknown, EngineEvent[], boolean][])('%s', (_n, rule, events, expected) => {
    expect(facts(rule, events)).toBe(expected);
  });

  it('reads traits passed to evaluate (trait.<name>)', () => {
    const rule = {
      all: [
        { fact: 'trait.region', eq: 'MD' },
        { fact: 'trait.age', gte: 25 },
        { fact: 'trait.age', lte: 50 },
      ],
    };
    expect(facts(rule, [e({ ts: T0 })], T0, { region: 'MD', age: 30 })).toBe(true);
    expect(facts(rule, [e({ ts: T0 })], T0, { region: 'VA', age: 30 })).toBe(false);
    expect(facts(rule, [e({ ts: T0 })], T0, undefined)).toBe(false);
    expect(facts({ fact: 'known', eq: true }, [e({ ts: T0 })], T0, {})).toBe(true);
  });

  it('durations', () => {
    expect([
      parseDuration('7d'),
      parseDuration('12h'),
      parseDuration('30m'),
      parseDuration('90s'),
      parseDuration('1.5d'),
    ]).toEqual([7 * DAY, 12 * 3_600_000, 30 * MIN, 90_000, 1.5 * DAY]);
    expect([
      parseDuration('7'),
      parseDuration('0d'),
      parseDuration('-1d'),
      parseDuration(7),
    ]).toEqual([undefined, undefined, undefined, undefined]);
  });
});

describe('custom rules: errors at start, pointing at the bad part', () => {
  const site = (rules: unknown, segment: unknown = {}) => ({ sites: { shop: { rules, segment } } });
  it.each([
    ['no when', { a: {} }, 'sites.shop.rules.a.when'],
    [
      'unknown key beside when',
      { a: { when: { fact: 'cooldown', eq: true }, webhook: 1 } },
      'sites.shop.rules.a',
    ],
    [
      'a bad name',
      { 'bad name!': { when: { fact: 'cooldown', eq: true } } },
      'sites.shop.rules.bad name!: a rule name',
    ],
    ['not an object', { a: { when: 5 } }, 'sites.shop.rules.a.when: a condition object'],
    [
      'two kinds',
      { a: { when: { all: [], fact: 'x' } } },
      'sites.shop.rules.a.when: one of all/any/not/fact/count/sequence per condition',
    ],
    ['empty all', { a: { when: { all: [] } } }, 'sites.shop.rules.a.when.all: a non-empty list'],
    [
      'unknown fact',
      { a: { when: { all: [{ fact: 'lifecyle', eq: 'newbie' }] } } },
      'sites.shop.rules.a.when.all.0.fact: unknown fact "lifecyle"',
    ],
    [
      'bad enum value',
      { a: { when: { fact: 'lifecycle', eq: 'loyalists' } } },
      'sites.shop.rules.a.when.eq: lifecycle is one of newbie',
    ],
    [
      'bad value in a list',
      { a: { when: { fact: 'rfm.label', in: ['champions', 'heroes'] } } },
      'sites.shop.rules.a.when.in.1: rfm.label is one of',
    ],
    [
      'no comparison',
      { a: { when: { fact: 'cooldown' } } },
      'sites.shop.rules.a.when: needs exactly one comparison',
    ],
    ['two comparisons', { a: { when: { fact: 'purchases.total', gt: 1, lt: 5 } } }, 'found gt, lt'],
    [
      'number fact with a string',
      { a: { when: { fact: 'purchases.total', gte: '100' } } },
      'sites.shop.rules.a.when.gte: purchases.total compares with a number',
    ],
    [
      'ordering a string fact',
      { a: { when: { fact: 'category', gt: 'a' } } },
      'sites.shop.rules.a.when.gt: gt needs a number',
    ],
    ['boolean fact', { a: { when: { fact: 'cooldown', eq: 'yes' } } }, 'cooldown is true or false'],
    [
      'count without within',
      { a: { when: { not: { count: { type: 'page_view' }, gte: 3 } } } },
      'sites.shop.rules.a.when.not.count.within: a duration',
    ],
    [
      'count longer than the window log',
      { a: { when: { count: { within: '31d' }, gte: 1 } } },
      'sites.shop.rules.a.when.count.within: 31d is longer than the window log',
    ],
    [
      'count unknown key',
      { a: { when: { count: { within: '1d', cat: 'x' }, gte: 1 } } },
      'sites.shop.rules.a.when.count.cat: unknown key',
    ],
    [
      'count with a fraction',
      { a: { when: { count: { within: '1d' }, gte: 1.5 } } },
      'sites.shop.rules.a.when.gte: a count compares with a whole number',
    ],
    [
      'count with a bad type',
      { a: { when: { count: { within: '1d', type: [] }, gte: 1 } } },
      'sites.shop.rules.a.when.count.type',
    ],
    [
      'count props nested',
      { a: { when: { count: { within: '1d', props: { p: { x: 1 } } }, gte: 1 } } },
      'sites.shop.rules.a.when.count.props.p',
    ],
    [
      'count value comparison typo',
      { a: { when: { count: { within: '1d', value: { gtee: 1 } }, gte: 1 } } },
      'sites.shop.rules.a.when.count.value.gtee',
    ],
    [
      'in with an empty list',
      { a: { when: { fact: 'lifecycle', in: [] } } },
      'sites.shop.rules.a.when.in: in takes a non-empty list',
    ],
    [
      'exists with a string',
      { a: { when: { fact: 'trait.plan', exists: 'yes' } } },
      'exists takes true or false',
    ],
  ])('%s', (_n, rules, needle) => {
    expect(() => parseConfig(site(rules))).toThrow(ConfigError);
    expect(() => parseConfig(site(rules))).toThrow(needle);
  });

  it('reports every problem at once', () => {
    try {
      parseConfig(
        site({
          a: { when: { fact: 'nope', eq: 1 } },
          b: { when: { count: { within: 'x' }, gte: 1 } },
        }),
      );
      expect.unreachable();
    } catch (err) {
      expect((err as Error).message).toContain('sites.shop.rules.a.when.fact');
      expect((err as Error).message).toContain('sites.shop.rules.b.when.count.within');
    }
  });

  it.each([
    [{ hotDays: 40 }, 'sites.shop.segment.windowDays: 30 is shorter than hotDays'],
    [{ warmDays: 3 }, 'sites.shop.segment.warmDays'],
    [{ atRiskDays: 200 }, 'sites.shop.segment.lapsedDays'],
    [
      { rfm: { frequency: [3, 2, 1, 0] } },
      'sites.shop.segment.rfm.frequency: four thresholds in ascending order',
    ],
    [{ rfm: { minCustomers: 1 } }, 'sites.shop.segment.rfm.minCustomers'],
    [{ highEndValue: -1 }, 'sites.shop.segment.highEndValue'],
  ])('engine thresholds %j', (segment, needle) => {
    expect(() => parseConfig(site({}, segment))).toThrow(needle);
  });

  it('a longer window log allows longer counts; rule props are kept in the log', () => {
    const c = parseConfig(
      site(
        {
          a: {
            when: { count: { within: '60d', props: { plan: 'pro' } }, gte: 1 },
            description: 'pro users',
          },
        },
        { windowDays: 60 },
      ),
    );
    const eng = c.sites.get('shop')!.engine;
    expect(eng.rules.map((r) => [r.name, r.description])).toEqual([['a', 'pro users']]);
    expect(eng.windowProps).toEqual(['plan']);
    expect(eng.rfm.minCustomers).toBe(50);
  });
});
