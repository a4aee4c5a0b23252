import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { applyEvent, emptyProfile, evaluate, type Profile } from '../../collector/engine/index.ts';
import { parseConfig, type ConfigFile } from '../../collector/config/config.ts';
import type { CollectResponse, WireEvent } from '../../shared/wire.ts';
import type { Segment } from '../../shared/segment.ts';
import { collectRequest, DAY, ev, T0, testApp } from '../helpers.ts';
import { LIMITS } from '../../shared/limits.ts';

const KEY = 'shop-api-key-0123456789';
const OTHER_KEY = 'other-api-key-0123456789';
const HOUR = 3_600_000;
const CONFIG: ConfigFile = {
  sites: {
    shop: {
      origins: ['https://site.example'],
      apiKeys: [KEY],
      publicTraits: ['newsletter'],
      countryHeader: 'CF-IPCountry',
      rules: {
        'md-buyers': { when: { fact: 'trait.region', eq: 'MD' } },
        // The same audience, marked public: a browser's answer may name it.
        'md-public': { when: { fact: 'trait.region', eq: 'MD' }, public: true },
        subscribers: { when: { fact: 'trait.newsletter', eq: true } },
        'in-us': { when: { fact: 'trait.country', eq: 'US' }, public: true },
      },
    },
    other: { origins: ['https://other.example'], apiKeys: [OTHER_KEY] },
  },
};

let t: Awaited<ReturnType<typeof testApp>>;
beforeEach(async () => {
  t = await testApp({ config: CONFIG });
});
afterEach(() => t.close());

const BASE = 'http://collect.test';
const auth = (key = KEY) => ({
  authorization: `Bearer ${key}`,
  'content-type': 'application/json',
});

/** An `ms_t` for the contact, made the way an email tool would: a plain link from the API. */
async function tokenFor(contact: string, site = 'shop', ttlDays?: number): Promise<string> {
  const to = site === 'shop' ? 'https://site.example/' : 'https://other.example/';
  const res = await t.app.request(`${BASE}/v1/links`, {
    method: 'POST',
    headers: auth(site === 'shop' ? KEY : OTHER_KEY),
    body: JSON.stringify({
      site,
      plain: true,
      links: [{ contact, to, ...(ttlDays ? { ttlDays } : {}) }],
    }),
  });
  const body = (await res.json()) as { links: { url: string }[] };
  return new URL(body.links[0]!.url).searchParams.get('ms_t')!;
}

const pv = (over: Partial<WireEvent> = {}) => ev({ url: 'https://site.example/p', ...over });

async function collect(
  visitor: string,
  events: WireEvent[],
  extra: Record<string, unknown> = {},
  headers: Record<string, string> = {},
) {
  const res = await t.app.request(
    collectRequest({ site: 'shop', visitor, events, ...extra }, headers),
  );
  return {
    status: res.status,
    body: (await res.json()) as CollectResponse & { error?: string; message?: string },
  };
}

async function segment(visitor: string): Promise<Segment> {
  return (await (
    await t.app.request(`${BASE}/v1/segment?site=shop&visitor=${visitor}`)
  ).json()) as Segment;
}

async function contact(id: string, key = KEY, site = 'shop') {
  const res = await t.app.request(
    `${BASE}/v1/contacts/${encodeURIComponent(id)}/segment?site=${site}`,
    { headers: auth(key) },
  );
  return {
    status: res.status,
    body: (await res.json()) as Segment & {
      contact: string;
      traits: Record<string, unknown>;
      firstTouch: unknown;
      lastTouch: unknown;
      error?: string;
    },
  };
}

async function putTraits(id: string, traits: unknown, key = KEY) {
  const res = await t.app.request(
    `${BASE}/v1/contacts/${encodeURIComponent(id)}/traits?site=shop`,
    {
      method: 'PUT',
      headers: auth(key),
      body: JSON.stringify(traits),
    },
  );
  return {
    status: res.status,
    body: (await res.json()) as {
      traits?: Record<string, unknown>;
      segment?: Segment;
      error?: string;
    },
  };
}

describe('identify through /v1/collect', () => {
  it("links the visitor: its segment is the contact's, known", async () => {
    expect((await segment('vA')).known).toBe(false);
    const token = await tokenFor('alice');
    const r = await collect('vA', [pv({ category: 'cameras' })], { token });
    expect(r.status).toBe(200);
    expect(r.body.identify).toEqual({ ok: true });
    expect(r.body.segment).toMatchObject({ known: true, visitor: 'vA', category: 'cameras' });
    const s = await segment('vA');
    expect(s).toMatchObject({ known: true, visitor: 'vA', category: 'cameras' });
    const c = await contact('alice');
    expect(c.status).toBe(200);
    expect(c.body).toMatchObject({
      known: true,
      contact: 'alice',
      category: 'cameras',
      affinity: s.affinity,
    });
    // The events stay the visitor's own history; the profile is the contact's.
    expect(await t.storage.countEvents('shop', 'vA')).toBe(1);
    expect(await t.storage.profile('shop', 'vA')).toBeUndefined();
    expect((await t.storage.profile('shop', 'c:alice'))!.profile.count).toBe(1);
  });

  it('refuses a forged, edited or other-site token and stores nothing', async () => {
    const good = await tokenFor('alice');
    const edited = good.slice(0, 10) + (good[10] === 'A' ? 'B' : 'A') + good.slice(11);
    const forged = Buffer.from('{"contact":"alice"}').toString('base64url');
    const foreign = await tokenFor('alice', 'other');
    for (const token of [edited, forged, foreign, 'x']) {
      const r = await collect('vA', [pv({ category: 'cameras' })], { token });
      expect(r.status, token).toBe(400);
      expect(r.body.error).toBe('invalid_token');
      expect(r.body.message).toMatch(/nothing of the batch was stored/);
    }
    expect(await t.storage.countEvents('shop')).toBe(0);
    expect((await segment('vA')).known).toBe(false);
    expect((await contact('alice')).status).toBe(404);
  });

  it('stores the events of a batch with an expired token, without linking', async () => {
    const token = await tokenFor('alice', 'shop', 1);
    t.clock.now += DAY;
    const r = await collect('vA', [pv({ ts: t.clock.now })], { token });
    expect(r.status).toBe(200);
    expect(r.body.identify).toMatchObject({ ok: false, error: 'expired_token' });
    expect(r.body.accepted).toBe(1);
    expect((await segment('vA')).known).toBe(false);
  });

  it('never links bot traffic', async () => {
    const token = await tokenFor('alice');
    const r = await collect('vBot', [pv()], { token, webdriver: true });
    expect(r.body.identify).toMatchObject({ ok: false, error: 'not_linked' });
    expect((await segment('vBot')).known).toBe(false);
  });
});

describe('merge', () => {
  it('merges two devices that saw the same category before identify: nothing counted twice', async () => {
    // Device A: cameras three times; device B: cameras twice and sports once, interleaved in time.
    const a = [0, 2, 4].map((h) => pv({ ts: T0 + h * HOUR, category: 'cameras' }));
    const b = [
      pv({ ts: T0 + 1 * HOUR, category: 'cameras' }),
      pv({ ts: T0 + 3 * HOUR, category: 'sports' }),
      pv({ ts: T0 + 5 * HOUR, category: 'cameras' }),
    ];
    t.clock.now = T0 + 6 * HOUR;
    await collect('devA', a);
    await collect('devB', b);
    // Each device then arrives from the email (a page view carrying the token).
    const arriveA = pv({ ts: T0 + 6 * HOUR, category: 'cameras' });
    const arriveB = pv({ ts: T0 + 6 * HOUR + 1000, category: 'cameras' });
    const token = await tokenFor('carol');
    expect((await collect('devA', [arriveA], { token })).body.identify).toEqual({ ok: true });
    expect((await collect('devB', [arriveB], { token })).body.identify).toEqual({ ok: true });
    // A retried batch of a linked device (the network ate the answer) changes nothing.
    const retry = await collect('devA', a);
    expect(retry.body).toMatchObject({ accepted: 0, duplicates: 3 });

    // The reference: every event applied to one profile, in time order.
    const engine = parseConfig(CONFIG).sites.get('shop')!.engine;
    const all = [...a, ...b, arriveA, arriveB].sort((x, y) => x.ts - y.ts);
    let ref: Profile = emptyProfile(all[0]!.ts);
    for (const e of all) ref = applyEvent(ref, e, engine);
    const merged = (await t.storage.profile('shop', 'c:carol'))!.profile;
    expect(merged.count).toBe(8);
    expect(merged.window.length).toBe(8);
    expect(merged.firstSeen).toBe(T0);
    for (const cat of ['cameras', 'sports']) {
      const now = t.clock.now;
      const decay = (p: Profile) =>
        p.scores[cat]!.s *
        Math.exp((-Math.LN2 / (engine.halfLifeDays * DAY)) * (now - p.scores[cat]!.t));
      expect(decay(merged)).toBeCloseTo(decay(ref), 9);
    }
    const expected = evaluate(
      ref,
      { site: 'shop', visitor: 'devB', known: true },
      engine,
      t.clock.now,
      {},
    );
    const sa = await segment('devA');
    const sb = await segment('devB');
    expect(sb).toMatchObject({
      known: true,
      segment: expected.segment,
      affinity: expected.affinity,
      engagement: 'hot',
    });
    expect({ ...sa, visitor: 'devB' }).toEqual(sb);
    expect(await t.storage.profile('shop', 'devA')).toBeUndefined();
    expect(await t.storage.profile('shop', 'devB')).toBeUndefined();
    expect((await t.storage.identity.linkedVisitors('shop', 'carol')).sort()).toEqual([
      'c:carol',
      'devA',
      'devB',
    ]);
  });

  it('joins an email click recorded before the browser arrived', async () => {
    const link = await t.app.request(`${BASE}/v1/links`, {
      method: 'POST',
      headers: auth(),
      body: JSON.stringify({
        site: 'shop',
        links: [
          {
            contact: 'dave',
            to: 'https://site.example/cams',
            category: 'cameras',
            campaign: 'spring',
          },
        ],
      }),
    });
    const url = ((await link.json()) as { links: { url: string }[] }).links[0]!.url;
    const hop = await t.app.request(url);
    expect(hop.status).toBe(302);
    const landing = new URL(hop.headers.get('location')!);
    await collect('vD', [pv({ category: 'sports' })]);
    const r = await collect(
      'vD',
      [
        pv({
          url: landing.href,
          category: 'cameras',
          utm: { campaign: 'spring', medium: 'email' },
        }),
      ],
      { token: landing.searchParams.get('ms_t') },
    );
    expect(r.body.segment).toMatchObject({ known: true, category: 'cameras' });
    const profile = (await t.storage.profile('shop', 'c:dave'))!.profile;
    expect(profile.count).toBe(3);
    expect(profile.window.map((e) => e[1]).sort()).toEqual([
      'email_click',
      'page_view',
      'page_view',
    ]);
  });

  it('a link lapses linkDays after the last valid token; browsing does not renew it, a fresh token does', async () => {
    const first = await collect('vR', [pv()], { token: await tokenFor('rita') });
    expect(first.body.identify).toEqual({ ok: true });
    t.clock.now += 20 * DAY;
    expect((await collect('vR', [pv({ ts: t.clock.now })])).body.segment!.known).toBe(true);
    const renewed = await collect('vR', [pv({ ts: t.clock.now })], {
      token: await tokenFor('rita'),
    });
    expect(renewed.body.identify).toEqual({ ok: true });
    t.clock.now += 29 * DAY; // 49 days after the first token, 29 after the renewal
    expect((await segment('vR')).known).toBe(true);
    t.clock.now += DAY;
    expect((await segment('vR')).known).toBe(false);
    expect((await t.storage.identity.linkOf('shop', 'vR'))!.contact).toBe('rita'); // kept, lapsed
  });

  it('does not move a device linked to one contact to another while the link is in force; later it may', async () => {
    await collect('vS', [pv({ category: 'cameras' })], { token: await tokenFor('erin') });
    const r = await collect('vS', [pv({ category: 'sports' })], { token: await tokenFor('frank') });
    expect(r.body.identify).toMatchObject({ ok: false, error: 'linked_elsewhere' });
    expect((await t.storage.identity.linkOf('shop', 'vS'))!.contact).toBe('erin');
    expect((await contact('frank')).status).toBe(404);
    t.clock.now += 31 * DAY;
    await collect('vS', [pv({ category: 'sports', ts: t.clock.now })], {
      token: await tokenFor('frank'),
    });
    expect((await t.storage.identity.linkOf('shop', 'vS'))!.contact).toBe('frank');
    expect((await contact('erin')).body.affinity).toMatchObject({ cameras: expect.any(Number) });
    expect((await contact('frank')).body.category).toBe('sports');
  });
});

describe('contacts API', () => {
  it('needs the API key of the site', async () => {
    expect((await t.app.request(`${BASE}/v1/contacts/alice/segment?site=shop`)).status).toBe(401);
    expect((await contact('alice', OTHER_KEY)).status).toBe(403);
    expect((await putTraits('alice', { region: 'MD' }, OTHER_KEY)).status).toBe(403);
    const noSite = await t.app.request(`${BASE}/v1/contacts/alice/segment`, { headers: auth() });
    expect(noSite.status).toBe(400);
  });

  it('answers 404 for a contact never seen', async () => {
    expect(await contact('nobody')).toMatchObject({
      status: 404,
      body: { error: 'unknown_contact' },
    });
  });

  it('sets traits that custom rules read, for the contact and every linked visitor', async () => {
    const put = await putTraits('gina@example.com', { region: 'MD', age_band: '25-50' });
    expect(put.status).toBe(200);
    expect(put.body.traits).toEqual({ region: 'MD', age_band: '25-50' });
    expect(put.body.segment!.segments).toContain('md-buyers');
    await collect('vG', [pv()], { token: await tokenFor('gina@example.com') });
    // A browser sees the public one only: region is not a public trait.
    expect((await segment('vG')).segments).toEqual(['md-public']);
    // PUT replaces the whole set.
    expect((await putTraits('gina@example.com', { age_band: '25-50' })).body.traits).toEqual({
      age_band: '25-50',
    });
    expect((await segment('vG')).segments).not.toContain('md-public');
    expect((await contact('gina@example.com')).body.traits).toEqual({ age_band: '25-50' });
  });

  it('refuses bad traits with a clear 400', async () => {
    for (const bad of [
      [1],
      'x',
      { 'bad name': 1 },
      { __proto__x: 1, ok: { nested: true } },
      { long: 'x'.repeat(300) },
    ]) {
      const r = await putTraits('h', bad);
      expect(r.status, JSON.stringify(bad)).toBe(400);
      expect(r.body.error).toBe('invalid_traits');
    }
    const many = Object.fromEntries(Array.from({ length: 51 }, (_, i) => [`t${i}`, i]));
    expect((await putTraits('h', many)).status).toBe(400);
    const res = await t.app.request(`${BASE}/v1/contacts/h/traits?site=shop`, {
      method: 'PUT',
      headers: auth(),
      body: '{',
    });
    expect(res.status).toBe(400);
    expect((await contact('h')).status).toBe(404);
  });

  it('refuses an oversized traits body with 413 (before the site is looked at) and a broken one as invalid_json', async () => {
    const big = 'x'.repeat(LIMITS.bodyBytes + 1);
    for (const path of ['/v1/contacts/h/traits?site=shop', '/v1/contacts/h/traits']) {
      const res = await t.app.request(`${BASE}${path}`, {
        method: 'PUT',
        headers: auth(),
        body: big,
      });
      expect(res.status, path).toBe(413);
      expect(await res.json()).toEqual({
        error: 'body_too_large',
        message: `the body is larger than ${LIMITS.bodyBytes} bytes`,
      });
    }
    const broken = await t.app.request(`${BASE}/v1/contacts/h/traits?site=shop`, {
      method: 'PUT',
      headers: auth(),
      body: '{',
    });
    expect(await broken.json()).toEqual({
      error: 'invalid_json',
      message: 'the body is not valid JSON',
    });
    const noSite = await t.app.request(`${BASE}/v1/contacts/h/traits`, {
      method: 'PUT',
      headers: auth(),
      body: '{',
    });
    expect((await noSite.json()).error).toBe('missing_site');
  });

  it('refuses a reserved trait name instead of dropping it: a PUT of {"__proto__": …} does not wipe the traits', async () => {
    expect((await putTraits('k@example.com', { region: 'MD' })).status).toBe(200);
    for (const body of ['{"__proto__":{"region":"VA"}}', '{"region":"VA","constructor":"x"}']) {
      const res = await t.app.request(`${BASE}/v1/contacts/k%40example.com/traits?site=shop`, {
        method: 'PUT',
        headers: auth(),
        body,
      });
      expect(res.status, body).toBe(400);
      expect(await res.json()).toMatchObject({
        error: 'invalid_traits',
        message: expect.stringMatching(/reserved name/),
      });
    }
    expect((await contact('k@example.com')).body.traits).toEqual({ region: 'MD' });
  });
});

describe('browser traits, proxy country and attribution', () => {
  it('takes public traits from the browser, refuses the others, reads the country header', async () => {
    const r = await collect(
      'vP',
      [pv()],
      { traits: { newsletter: true, plan: 'gold' } },
      { 'cf-ipcountry': 'us' },
    );
    expect(r.status).toBe(200);
    expect(r.body.refusedTraits).toEqual(['plan']);
    expect(r.body.segment!.segments.sort()).toEqual(['in-us', 'subscribers']);
    // Unknown and Tor are not countries; a later batch without the header keeps the country.
    await collect('vP', [pv()], {}, { 'cf-ipcountry': 'XX' });
    expect((await segment('vP')).segments).toContain('in-us');
    // On identify, the anonymous traits join the contact's; the contact's own win.
    await putTraits('ida', { newsletter: false, region: 'MD' });
    await collect('vP', [pv()], { token: await tokenFor('ida') });
    expect((await contact('ida')).body.traits).toEqual({
      newsletter: false,
      region: 'MD',
      country: 'US',
    });
    const bad = await collect('vP', [pv()], { traits: { 'no way': 1 } });
    expect(bad.status).toBe(400);
    expect(bad.body.error).toBe('invalid_traits');
  });

  it('ignores the country header of a site that names none', async () => {
    const r = await t.app.request(
      collectRequest(
        { site: 'other', visitor: 'vO', events: [ev({ url: 'https://other.example/' })] },
        { 'cf-ipcountry': 'US' },
      ),
    );
    expect(r.status).toBe(200);
    expect(await t.storage.identity.meta('other', 'vO')).toBeUndefined();
  });

  it('keeps the first and the last campaign touch, across identify', async () => {
    await collect('vJ', [pv({ ts: T0 - 2 * DAY, utm: { campaign: 'winter', source: 'ads' } })]);
    await collect('vJ', [pv({ ts: T0 - DAY })]);
    t.clock.now = T0;
    await collect('vJ', [pv({ ts: T0, utm: { campaign: 'spring', medium: 'email' } })], {
      token: await tokenFor('jo'),
    });
    const c = await contact('jo');
    expect(c.body.firstTouch).toEqual({ campaign: 'winter', source: 'ads', ts: T0 - 2 * DAY });
    expect(c.body.lastTouch).toEqual({ campaign: 'spring', medium: 'email', ts: T0 });
  });
});

describe('server events for a contact', () => {
  async function events(body: unknown) {
    const res = await t.app.request(`${BASE}/v1/events`, {
      method: 'POST',
      headers: auth(),
      body: JSON.stringify(body),
    });
    return {
      status: res.status,
      body: (await res.json()) as {
        accepted: number;
        refused: { index: number; error: string; message: string }[];
      },
    };
  }

  it("lands events and traits naming a contact, or a linked visitor, in the contact's profile", async () => {
    await collect('vK', [pv({ category: 'cameras' })], { token: await tokenFor('kim') });
    const r = await events({
      events: [
        {
          site: 'shop',
          contact: 'kim',
          type: 'purchase',
          value: 120,
          category: 'cameras',
          ts: T0,
          traits: { region: 'MD' },
        },
        { site: 'shop', visitor: 'vK', type: 'add_to_cart', category: 'cameras', ts: T0 + 1000 },
        { site: 'shop', type: 'purchase', ts: T0 },
        { site: 'shop', visitor: 'vK', contact: 'kim', type: 'purchase', ts: T0 },
      ],
    });
    expect(r.status).toBe(200);
    expect(r.body.accepted).toBe(2);
    expect(r.body.refused.map((x) => [x.index, x.message])).toEqual([
      [2, 'exactly one of visitor and contact'],
      [3, 'exactly one of visitor and contact'],
    ]);
    const c = await contact('kim');
    expect(c.body).toMatchObject({ lifecycle: 'new_customer', traits: { region: 'MD' } });
    expect(c.body.segments).toContain('md-buyers');
    expect((await t.storage.profile('shop', 'c:kim'))!.profile.count).toBe(3);
    expect(await t.storage.profile('shop', 'vK')).toBeUndefined();
    expect(await segment('vK')).toMatchObject({ known: true, lifecycle: 'new_customer' });
  });
});
