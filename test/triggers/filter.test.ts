import { describe, expect, it } from 'vitest';
import { parseConfig, ConfigError } from '../../collector/config/config.ts';
import { compileFilter } from '../../collector/webhooks/config.ts';
import { deliveriesFor } from '../../collector/webhooks/index.ts';
import type { Segment } from '../../shared/segment.ts';
import { segmentWith } from '../fixtures.ts';

const seg = (over: Partial<Segment> = {}): Segment =>
  segmentWith({ site: 'shop', affinity: { cameras: 1 }, updated: 0, ...over });

describe('webhook filters', () => {
  it.each([
    [undefined, seg(), true],
    [{ known: true }, seg(), false],
    [{ known: true }, seg({ known: true }), true],
    [{ lifecycle: ['newbie', 'prospect'] }, seg({ lifecycle: 'prospect' }), true],
    [{ lifecycle: ['newbie', 'prospect'] }, seg({ lifecycle: 'loyalist' }), false],
    [{ category: 'cameras', cooldown: false }, seg(), true],
    [{ category: 'cameras', cooldown: false }, seg({ cooldown: true }), false],
    [{ segments: ['vip', 'camera-intent'] }, seg(), true],
    [{ segments: 'vip' }, seg(), false],
    [{ rfm: null }, seg(), true],
    [{ rfm: 'champions' }, seg({ rfm: { r: 5, f: 5, m: 5, label: 'champions' } }), true],
    [{ category: null }, seg({ category: null }), true],
  ])('%j on the segment after the change → %s', (filter, s, expected) => {
    expect(compileFilter(filter as never)(s)).toBe(expected);
  });

  const config = parseConfig(
    {
      sites: {
        shop: {
          rules: {
            'camera-intent': {
              when: { count: { type: 'page_view', category: 'cameras', within: '7d' }, gte: 3 },
            },
          },
          webhookSecret: 'a-webhook-secret-0123456789',
          webhooks: [
            { id: 'all', segment: 'camera-intent', on: 'enter', url: 'http://127.0.0.1:9/all' },
            {
              id: 'known',
              segment: 'camera-intent',
              on: 'enter',
              url: 'http://127.0.0.1:9/known',
              filter: { known: true },
            },
          ],
        },
      },
    },
    'test',
  );
  const change = (known: boolean) => ({
    site: 'shop',
    visitor: 'v1',
    profile: known ? 'c:crm-1' : 'v1',
    before: { key: 'newbie:cameras:active', segments: [] },
    segment: seg({ known }),
    changes: [],
    at: 1,
  });

  it('a filtered webhook fires only for matching visitors; unfiltered ones for all', () => {
    expect(deliveriesFor(config, change(false)).map((d) => d.hook)).toEqual(['all']);
    expect(deliveriesFor(config, change(true)).map((d) => d.hook)).toEqual(['all', 'known']);
  });

  it('an unknown filter field or an empty filter stops the collector at start, naming the path', () => {
    const base = {
      segment: 'key:*:*:hot',
      on: 'enter',
      url: 'http://127.0.0.1:9/',
      secret: 'a-webhook-secret-0123456789',
    };
    expect(() =>
      parseConfig({ sites: { s: { webhooks: [{ ...base, filter: { plan: 'gold' } }] } } }),
    ).toThrow(ConfigError);
    expect(() =>
      parseConfig({ sites: { s: { webhooks: [{ ...base, filter: { plan: 'gold' } }] } } }),
    ).toThrow(/sites\.s\.webhooks\.0\.filter/);
    expect(() => parseConfig({ sites: { s: { webhooks: [{ ...base, filter: {} }] } } })).toThrow(
      /at least one field/,
    );
  });
});
