/** The pure parts: webhook config, which transitions fire, backoff, signatures, CSV cells. */
import { describe, expect, it } from 'vitest';
import { ConfigError, parseConfig } from '../../collector/config/config.ts';
import { csvCell } from '../../collector/storage/export.ts';
import {
  backoffDelay,
  compileWebhooks,
  DEFAULT_DELIVERY,
  firedBy,
} from '../../collector/webhooks/config.ts';
import { signBody, verifySignature } from '../../collector/webhooks/sign.ts';
import { CAMERA_INTENT, SECRET } from './setup.ts';

const url = 'https://crm.example/hooks/microseg';

describe('webhook config', () => {
  it('reports a webhook on an unknown custom segment, without a secret, or with a bad URL, with its path', () => {
    const bad = {
      sites: {
        shop: {
          rules: { 'camera-intent': CAMERA_INTENT },
          webhooks: [
            { segment: 'camera-intnet', on: 'enter', url, secret: SECRET },
            { segment: 'camera-intent', on: 'exit', url },
          ],
        },
      },
    };
    expect(() => parseConfig(bad)).toThrow(ConfigError);
    try {
      parseConfig(bad);
    } catch (err) {
      expect((err as Error).message).toContain(
        'sites.shop.webhooks.0.segment: "camera-intnet" is not a custom segment of site "shop" (custom segments: camera-intent',
      );
      expect((err as Error).message).toContain('sites.shop.webhooks.1: no signing secret');
    }
    expect(() =>
      parseConfig({
        sites: {
          shop: {
            webhooks: [{ segment: 'key:*', on: 'enter', url: 'ftp://x.example/', secret: SECRET }],
          },
        },
      }),
    ).toThrow(/webhooks\.0\.url/);
    expect(() =>
      parseConfig({
        sites: {
          shop: {
            webhooks: [
              { segment: 'key:*', on: 'enter', url: 'https://u:p@x.example/', secret: SECRET },
            ],
          },
        },
      }),
    ).toThrow(/without credentials/);
    expect(() =>
      parseConfig({
        sites: { shop: { webhooks: [{ segment: 'key:*', on: 'enter', url, secret: 'short' }] } },
      }),
    ).toThrow(/at least 16/);
  });

  it('takes the secret from the webhook, the site, or MICROSEG_WEBHOOK_SECRET, and the delivery policy with defaults', () => {
    const hooks = [{ segment: 'key:*', on: 'enter' as const, url }];
    const fromEnv = parseConfig({ sites: { shop: { webhooks: hooks } } }, 'test', {
      webhookSecret: 'env-secret-0123456789',
    });
    expect(fromEnv.sites.get('shop')!.webhooks[0]!.secret).toBe('env-secret-0123456789');
    const fromSite = parseConfig(
      {
        sites: { shop: { webhooks: hooks, webhookSecret: 'site-secret-0123456789' } },
        delivery: { attempts: 3 },
      },
      'test',
      { webhookSecret: 'env-secret-0123456789' },
    );
    expect(fromSite.sites.get('shop')!.webhooks[0]!.secret).toBe('site-secret-0123456789');
    expect(fromSite.delivery).toEqual({ ...DEFAULT_DELIVERY, attempts: 3 });
    expect(fromSite.sites.get('shop')!.webhooks[0]!.id).toMatch(/^wh_[A-Za-z0-9_-]{10}$/);
    expect(() => parseConfig({ sites: { shop: {} }, delivery: { attempts: 0 } })).toThrow(
      /delivery\.attempts/,
    );
  });
});

describe('which transitions fire', () => {
  const { webhooks } = compileWebhooks(
    'shop',
    [
      { segment: 'camera-intent', on: 'enter', url, secret: SECRET },
      { segment: 'camera-intent', on: 'exit', url, secret: SECRET },
      { segment: 'key:*:cameras:hot', on: 'enter', url, secret: SECRET },
      { segment: 'key:*:cameras:hot', on: 'exit', url, secret: SECRET },
    ],
    { customSegments: ['camera-intent'] },
  );
  const fired = (
    before: { key: string | null; segments: string[] },
    after: { key: string; segments: string[] },
  ) => firedBy(webhooks, before, after).map((f) => `${f.hook.segment} ${f.change}`);

  it.each([
    [{ key: null, segments: [] }, { key: 'newbie:cameras:active', segments: [] }, []],
    [
      { key: 'newbie:cameras:active', segments: [] },
      { key: 'newbie:cameras:hot', segments: ['camera-intent'] },
      ['camera-intent enter', 'key:*:cameras:hot enter'],
    ],
    // Between two keys the pattern matches: still inside the set, nothing fires.
    [
      { key: 'newbie:cameras:hot', segments: ['camera-intent'] },
      { key: 'new_customer:cameras:hot', segments: [] },
      ['camera-intent exit'],
    ],
    [
      { key: 'new_customer:cameras:hot', segments: [] },
      { key: 'new_customer:cameras:active', segments: [] },
      ['key:*:cameras:hot exit'],
    ],
    [
      { key: null, segments: [] },
      { key: 'newbie:cameras:hot', segments: ['camera-intent'] },
      ['camera-intent enter', 'key:*:cameras:hot enter'],
    ],
  ])('%j → %j fires %j', (before, after, expected) => {
    expect(fired(before, after)).toEqual(expected);
  });
});

describe('backoff', () => {
  const policy = { ...DEFAULT_DELIVERY, backoffMs: 1000, maxBackoffMs: 60_000 };
  it('doubles per attempt, caps, and jitters within [½, 1] of the step', () => {
    expect([1, 2, 3, 4].map((a) => backoffDelay(a, policy, () => 1))).toEqual([
      1000, 2000, 4000, 8000,
    ]);
    expect([1, 2, 3].map((a) => backoffDelay(a, policy, () => 0))).toEqual([500, 1000, 2000]);
    expect(backoffDelay(30, policy, () => 1)).toBe(60_000);
    expect(backoffDelay(30, policy, () => 0)).toBe(30_000);
  });
});

describe('signatures', () => {
  const body = '{"id":"dlv_1"}';
  const now = 1_800_000_000_000;
  it('verifies what was signed, and nothing altered, old or signed with another secret', () => {
    const sig = signBody(SECRET, now, body);
    expect(sig).toMatch(/^sha256=[0-9a-f]{64}$/);
    expect(verifySignature(SECRET, String(now), body, sig, now + 1000)).toBe(true);
    expect(verifySignature(SECRET, String(now), `${body} `, sig, now)).toBe(false);
    expect(verifySignature(SECRET, String(now + 1), body, sig, now)).toBe(false);
    expect(verifySignature('another-secret-0123456789', String(now), body, sig, now)).toBe(false);
    expect(verifySignature(SECRET, String(now), body, sig, now + 10 * 60_000)).toBe(false);
    expect(verifySignature(SECRET, undefined, body, sig, now)).toBe(false);
    expect(verifySignature(SECRET, String(now), body, sig.slice(0, -1), now)).toBe(false);
  });
});

describe('CSV cells', () => {
  it('quotes separators and quotes, and defuses spreadsheet formulas', () => {
    expect(csvCell('plain')).toBe('plain');
    expect(csvCell(null)).toBe('');
    expect(csvCell(['a', 'b'])).toBe('a;b');
    expect(csvCell('a,"b"')).toBe('"a,""b"""');
    expect(csvCell('=HYPERLINK("x")')).toBe(`"'=HYPERLINK(""x"")"`);
    expect(csvCell('@SUM(A1)')).toBe("'@SUM(A1)");
    // A leading minus runs as a formula too (a category is visitor-supplied); so does an id-shaped
    // `-A1` ("minus cell A1"): every text cell is defused, only numbers stay as they are.
    expect(csvCell("-2+3+cmd|' /C calc'!A0")).toBe("'-2+3+cmd|' /C calc'!A0");
    expect(csvCell('-1+SUM(A1:A9)')).toBe("'-1+SUM(A1:A9)");
    expect(csvCell('-x1_Ab-9')).toBe("'-x1_Ab-9");
    expect(csvCell(-12.5)).toBe('-12.5');
  });
});
