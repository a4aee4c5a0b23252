import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DAY, testApp } from '../helpers.ts';
import { LIMITS } from '../../shared/limits.ts';
import { BACKEND, row } from '../support/backend.ts';

const KEY = 'shop-api-key-0123456789';
const OTHER_KEY = 'other-api-key-0123456789';
let t: Awaited<ReturnType<typeof testApp>>;

beforeEach(async () => {
  t = await testApp({
    config: {
      sites: {
        shop: { origins: ['https://site.example'], apiKeys: [KEY] },
        other: { origins: ['https://other.example'], apiKeys: [OTHER_KEY] },
      },
    },
  });
});
afterEach(() => t.close());

const BASE = 'http://collect.test';

async function links(body: unknown, key = KEY) {
  return t.app.request(`${BASE}/v1/links`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
}

async function oneLink(
  link: Record<string, unknown>,
  site = 'shop',
  plain = false,
): Promise<string> {
  const res = await links({ site, plain, links: [link] }, site === 'shop' ? KEY : OTHER_KEY);
  expect(res.status).toBe(200);
  const body = (await res.json()) as { links: { url?: string; message?: string }[] };
  if (!body.links[0]!.url) throw new Error(body.links[0]!.message);
  return body.links[0]!.url;
}

const get = (url: string, method = 'GET') => t.app.request(url, { method });
const clicks = (contact: string) => t.storage.countEvents('shop', `c:${contact}`);

describe('POST /v1/links', () => {
  it('needs an API key for the site', async () => {
    expect((await t.app.request(`${BASE}/v1/links`, { method: 'POST', body: '{}' })).status).toBe(
      401,
    );
    const res = await links(
      { site: 'shop', links: [{ contact: 'c1', to: 'https://site.example/' }] },
      OTHER_KEY,
    );
    expect(res.status).toBe(403);
    expect(await res.json()).toMatchObject({ error: 'forbidden' });
  });

  it('makes links in bulk, each failing on its own with a reason', async () => {
    const res = await links({
      site: 'shop',
      links: [
        {
          contact: 'crm-contact-1',
          to: 'https://site.example/a',
          campaign: 'spring',
          category: 'cameras',
        },
        { contact: 'c2', to: 'https://evil.example/' },
        { contact: '', to: 'https://site.example/' },
        { contact: 'c3', to: 'https://site.example/b', ttlDays: 9999 },
      ],
    });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { links: Record<string, unknown>[] };
    expect(body.links[0]).toMatchObject({
      index: 0,
      url: expect.stringMatching(/^http:\/\/collect\.test\/r\?/),
    });
    expect(body.links[1]).toMatchObject({ index: 1, error: 'target_not_allowed' });
    expect(body.links[2]).toMatchObject({ index: 2, error: 'invalid_link' });
    expect(body.links[3]).toMatchObject({ index: 3, error: 'invalid_link' });
    // The contact id is not readable in the link (a long id: the token's random characters
    // matched a two-letter one by chance about once in sixty runs).
    expect(JSON.stringify(body)).not.toContain('crm-contact-1');
  });

  it('refuses bad bodies with a clear 4xx', async () => {
    const bad = await t.app.request(`${BASE}/v1/links`, {
      method: 'POST',
      headers: { authorization: `Bearer ${KEY}` },
      body: 'not json',
    });
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({ error: 'invalid_json' });
    expect((await links({ site: 'shop', links: [] })).status).toBe(400);
    const many = Array.from({ length: 1001 }, (_, i) => ({
      contact: `c${i}`,
      to: 'https://site.example/',
    }));
    expect((await links({ site: 'shop', links: many })).status).toBe(400);
    expect((await links({ site: 'shop', links: [{}], extra: 1 })).status).toBe(400);
    const big = await t.app.request(`${BASE}/v1/links`, {
      method: 'POST',
      headers: { authorization: `Bearer ${KEY}` },
      body: 'x'.repeat(LIMITS.serverBodyBytes + 1),
    });
    expect(big.status).toBe(413);
    expect(await big.json()).toEqual({
      error: 'body_too_large',
      message: `the body is larger than ${LIMITS.serverBodyBytes} bytes`,
    });
  });
});

describe('GET /r', () => {
  it('records an email_click for the contact and redirects with ms_t, utm and ms_cat', async () => {
    const link = await oneLink({
      contact: 'c1',
      to: 'https://site.example/cameras?ref=x#top',
      campaign: 'spring',
      category: 'cameras',
      medium: 'email',
      source: 'nl',
    });
    const res = await get(link);
    expect(res.status).toBe(302);
    const to = new URL(res.headers.get('location')!);
    expect(to.origin + to.pathname + to.hash).toBe('https://site.example/cameras#top');
    expect(Object.fromEntries(to.searchParams)).toMatchObject({
      ref: 'x',
      utm_campaign: 'spring',
      utm_medium: 'email',
      utm_source: 'nl',
      ms_cat: 'cameras',
    });
    const token = to.searchParams.get('ms_t')!;
    expect(token).toMatch(/^[A-Za-z0-9_-]{40,}$/);
    expect(token).not.toBe(new URL(link).searchParams.get('t'));
    expect(res.headers.get('cache-control')).toBe('no-store');
    // The token in the target's URL must not leak onward (the global security headers set it).
    expect(res.headers.get('referrer-policy')).toBe('no-referrer');

    expect(await clicks('c1')).toBe(1);
    const profile = (await t.storage.profile('shop', 'c:c1'))!.profile;
    expect(Object.keys(profile.scores)).toEqual(['cameras']);
    // The stored event itself (no storage read returns an event row).
    const stored = await row(
      t.storage,
      "select type, category, utm from events where site = 'shop' and visitor = 'c:c1'",
    );
    expect(stored).toEqual({
      type: 'email_click',
      category: 'cameras',
      utm: JSON.stringify({ campaign: 'spring', medium: 'email', source: 'nl' }),
    });
  });

  it('records one click per link and click window, but a HEAD (mail scanner) redirects without recording', async () => {
    const link = await oneLink({ contact: 'c1', to: 'https://site.example/' });
    expect((await get(link, 'HEAD')).status).toBe(302);
    expect(await clicks('c1')).toBe(0);
    await get(link);
    await get(link);
    expect(await clicks('c1')).toBe(1);
    // Another link to the same contact is another click.
    await get(await oneLink({ contact: 'c1', to: 'https://site.example/other' }));
    expect(await clicks('c1')).toBe(2);
  });

  it("stores a click from a scanner or bot user agent flagged, out of the contact's profile", async () => {
    const link = await oneLink({ contact: 'c2', to: 'https://site.example/', category: 'cameras' });
    const res = await t.app.request(link, {
      headers: { 'user-agent': 'Mozilla/5.0 (compatible; bingbot/2.0)' },
    });
    expect(res.status).toBe(302);
    const stored = await row(
      t.storage,
      "select type, bot from events where site = 'shop' and visitor = 'c:c2'",
    );
    // bot: 1 in SQLite, true in PostgreSQL (a boolean column).
    expect(stored).toEqual({ type: 'email_click', bot: BACKEND === 'postgres' ? true : 1 });
    expect((await t.storage.profile('shop', 'c:c2'))?.profile.scores ?? {}).toEqual({});
    await get(link);
    expect(Object.keys((await t.storage.profile('shop', 'c:c2'))!.profile.scores)).toEqual([
      'cameras',
    ]);
  });

  async function expectRefused(url: string, error: string) {
    const res = await get(url);
    expect(res.status, url).toBe(400);
    expect(res.headers.get('location')).toBeNull();
    expect(res.headers.get('content-type')).toMatch(/text\/html/);
    expect(res.headers.get('x-microseg-error')).toBe(error);
    expect(res.headers.get('referrer-policy')).toBe('no-referrer');
    expect(await res.text()).toContain('This link is not valid');
  }

  it('refuses any edited parameter, with a 400 page and no redirect', async () => {
    const link = await oneLink({
      contact: 'c1',
      to: 'https://site.example/a',
      campaign: 'spring',
      category: 'cameras',
    });
    const edits: [string, string | null][] = [
      ['to', 'https://evil.example/'],
      ['to', 'https://site.example/b'],
      ['to', '//evil.example'],
      ['ms_cat', 'sports'],
      ['ms_cat', null],
      ['utm_campaign', 'fall'],
      ['utm_source', 'added'],
      ['site', 'other'],
    ];
    for (const [name, value] of edits) {
      const u = new URL(link);
      if (value === null) u.searchParams.delete(name);
      else u.searchParams.set(name, value);
      await expectRefused(u.href, 'invalid_signature');
    }
    const u = new URL(link);
    u.searchParams.set(
      'sig',
      u.searchParams.get('sig')!.replace(/^./, (ch) => (ch === 'A' ? 'B' : 'A')),
    );
    await expectRefused(u.href, 'invalid_signature');
    u.searchParams.delete('sig');
    await expectRefused(u.href, 'malformed_link');
    await expectRefused(`${link}&to=https://evil.example/`, 'malformed_link');
    await expectRefused(`${BASE}/r`, 'malformed_link');
    await expectRefused(`${BASE}/r?to=https://evil.example/`, 'malformed_link');
    expect(await clicks('c1')).toBe(0);
  });

  it('refuses a link whose token was swapped for another contact', async () => {
    const a = new URL(await oneLink({ contact: 'alice', to: 'https://site.example/' }));
    const b = new URL(await oneLink({ contact: 'bob', to: 'https://site.example/' }));
    a.searchParams.set('t', b.searchParams.get('t')!);
    await expectRefused(a.href, 'invalid_signature');
  });

  it('refuses an expired link', async () => {
    const link = await oneLink({ contact: 'c1', to: 'https://site.example/', ttlDays: 2 });
    t.clock.now += 2 * DAY - 1000;
    expect((await get(link)).status).toBe(302);
    t.clock.now += 1000;
    await expectRefused(link, 'expired_link');
  });

  it('makes plain links that carry the parameters without a redirect', async () => {
    // A contact id with characters base64url never has, so the token cannot contain it by chance.
    const contact = 'ann@mail.example';
    const url = new URL(
      await oneLink(
        {
          contact,
          to: 'https://site.example/p',
          campaign: 'spring',
          category: 'cameras',
          medium: 'email',
        },
        'shop',
        true,
      ),
    );
    expect(url.origin).toBe('https://site.example');
    expect(url.searchParams.get('ms_cat')).toBe('cameras');
    expect(url.searchParams.get('utm_campaign')).toBe('spring');
    expect(url.searchParams.get('ms_t')).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(url.href).not.toContain(contact);
    expect(url.href).not.toContain(encodeURIComponent(contact));
  });
});
