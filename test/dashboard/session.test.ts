/**
 * The dashboard's sign-in, session and CSRF rules, over HTTP (`app.request`, a real SQLite file):
 * cookie flags, expiry, sign-out, wrong keys (401, then 429), CSRF refusals, the key never
 * echoed, the dashboard off, and a key of one site never opening another's pages.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ConfigFile } from '../../collector/config/config.ts';
import { createApp } from '../../collector/http/app.ts';
import { placeholderSnippets } from '../../collector/http/snippet-asset.ts';
import { parseConfig } from '../../collector/config/config.ts';
import { keyRing } from '../../collector/identity/keys.ts';
import { issueSession, readSession } from '../../collector/dashboard/session.ts';
import { DASHBOARD } from '../../shared/limits.ts';
import { collectRequest, ev, T0, testApp } from '../helpers.ts';
import { dashRequest, KEY_A, KEY_AB, KEY_B, signIn, TWO_SITES } from './support.ts';

const FILE = TWO_SITES;

let t: Awaited<ReturnType<typeof testApp>>;
beforeAll(async () => {
  t = await testApp({ config: FILE, now: T0 });
});
afterAll(async () => t?.close());

const form = (body: Record<string, string>, headers: Record<string, string> = {}) => ({
  method: 'POST',
  headers: {
    'content-type': 'application/x-www-form-urlencoded',
    origin: 'http://localhost',
    ...headers,
  },
  body: new URLSearchParams(body).toString(),
});

describe('sign-in', () => {
  it('shows a form posting the key, with a label, and no key in it', async () => {
    const res = await t.app.request('/dashboard/login');
    expect(res.status).toBe(200);
    const html = await res.text();
    expect(html).toMatch(/<form method="post" action="\/dashboard\/login"/);
    expect(html).toMatch(/<label for="key">/);
    expect(html).toMatch(/name="key" type="password"/);
    expect(res.headers.get('content-security-policy')).toMatch(/script-src 'self'/);
  });

  it('sets an HttpOnly, SameSite=Strict, expiring cookie for the dashboard path only', async () => {
    const s = await signIn(t.app, KEY_A);
    expect(s.setCookie).toMatch(/HttpOnly/);
    expect(s.setCookie).toMatch(/SameSite=Strict/);
    expect(s.setCookie).toMatch(/Path=\/dashboard/);
    expect(s.setCookie).toMatch(new RegExp(`Max-Age=${DASHBOARD.sessionMs / 1000}`));
    // Plain http: no Secure (the browser would drop it); the key is nowhere in the cookie.
    expect(s.setCookie).not.toMatch(/Secure/);
    expect(s.setCookie).not.toContain(KEY_A);
    expect(Buffer.from(s.cookie.split('.')[1] ?? '', 'base64url').toString()).not.toContain(KEY_A);
  });

  it('marks the cookie Secure behind https', async () => {
    const res = await t.app.request('https://dash.example/dashboard/login', {
      ...form({ key: KEY_A }, { origin: 'https://dash.example' }),
    });
    expect(res.status).toBe(303);
    expect(res.headers.get('set-cookie')).toMatch(/; Secure/);
  });

  it('opens the pages of the signed-in sites and sends others to the form', async () => {
    const anon = await t.app.request('/dashboard/');
    expect(anon.status).toBe(303);
    expect(anon.headers.get('location')).toBe('/dashboard/login');
    const s = await signIn(t.app, KEY_A);
    const home = await t.app.request('/dashboard/', { headers: { cookie: s.cookie } });
    expect(home.status).toBe(200);
    expect(await home.text()).toContain('Overview');
  });

  it('refuses a wrong key with 401 and never echoes the key', async () => {
    const wrong = 'wrong-key-SECRET-0123456789';
    const res = await t.app.request(
      '/dashboard/login',
      form({ key: wrong }, { 'x-forwarded-for': '1' }),
    );
    expect(res.status).toBe(401);
    const html = await res.text();
    expect(html).toContain('opens no site');
    expect(html).not.toContain(wrong);
    expect(res.headers.get('set-cookie')).toBeNull();
  });

  it('rate-limits wrong keys per address: 429 with Retry-After, even for a right key then', async () => {
    const t2 = await testApp({ config: FILE, now: T0 });
    try {
      for (let i = 0; i < DASHBOARD.loginFailures; i++) {
        const res = await t2.app.request(
          '/dashboard/login',
          form({ key: `wrong-${i}-0123456789` }),
        );
        expect(res.status).toBe(401);
      }
      const blocked = await t2.app.request('/dashboard/login', form({ key: KEY_A }));
      expect(blocked.status).toBe(429);
      expect(Number(blocked.headers.get('retry-after'))).toBeGreaterThan(0);
      expect(blocked.headers.get('set-cookie')).toBeNull();
      // The window passes: the right key works again.
      t2.clock.now += DASHBOARD.loginWindowMs;
      const ok = await t2.app.request('/dashboard/login', form({ key: KEY_A }));
      expect(ok.status).toBe(303);
    } finally {
      await t2.close();
    }
  });

  it('refuses a sign-in posted from another origin', async () => {
    const res = await t.app.request(
      '/dashboard/login',
      form({ key: KEY_A }, { origin: 'https://evil.example' }),
    );
    expect(res.status).toBe(403);
    expect(res.headers.get('set-cookie')).toBeNull();
  });
});

describe('session', () => {
  it('expires after its life', async () => {
    const s = await signIn(t.app, KEY_A);
    const saved = t.clock.now;
    try {
      t.clock.now += DASHBOARD.sessionMs - 1000;
      expect((await t.app.request('/dashboard/', { headers: { cookie: s.cookie } })).status).toBe(
        200,
      );
      t.clock.now += 2000;
      const late = await t.app.request('/dashboard/', { headers: { cookie: s.cookie } });
      expect(late.status).toBe(303);
      expect(late.headers.get('location')).toBe('/dashboard/login');
    } finally {
      t.clock.now = saved;
    }
  });

  it('refuses a tampered cookie and one signed by another secret', async () => {
    const s = await signIn(t.app, KEY_A);
    const [name, value = ''] = s.cookie.split('=');
    const parts = value.split('.');
    const body = JSON.parse(Buffer.from(parts[1] ?? '', 'base64url').toString());
    body.e += 10 * DASHBOARD.sessionMs;
    parts[1] = Buffer.from(JSON.stringify(body)).toString('base64url');
    const tampered = `${name}=${parts.join('.')}`;
    expect((await t.app.request('/dashboard/', { headers: { cookie: tampered } })).status).toBe(
      303,
    );
    const other = keyRing(['another-secret-0123456789-0123456789']);
    const forged = issueSession(other, KEY_A, T0, DASHBOARD.sessionMs).value;
    const res = await t.app.request('/dashboard/', { headers: { cookie: `${name}=${forged}` } });
    expect(res.status).toBe(303);
  });

  it('works on any collector sharing the secret (several processes on one database)', async () => {
    const ring = keyRing(['shared-secret-0123456789-0123456789-xx']);
    const apps = [0, 1].map(() =>
      createApp({
        storage: t.storage,
        config: parseConfig(FILE),
        now: () => T0,
        snippets: placeholderSnippets(),
        keys: ring,
      }),
    );
    const [one, two] = apps;
    if (!one || !two) throw new Error('apps');
    const s = await signIn(one, KEY_A);
    expect((await two.request('/dashboard/', { headers: { cookie: s.cookie } })).status).toBe(200);
    expect(readSession(ring, s.cookie.split('=')[1], T0)?.csrf).toBe(s.csrf);
  });

  it('signs out: the cookie is cleared', async () => {
    const s = await signIn(t.app, KEY_A);
    const res = await t.app.request('/dashboard/logout', {
      ...form({ csrf: s.csrf }),
      headers: {
        cookie: s.cookie,
        'content-type': 'application/x-www-form-urlencoded',
        origin: 'http://localhost',
      },
    });
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe('/dashboard/login');
    expect(res.headers.get('set-cookie')).toMatch(/microseg_dashboard=;.*Max-Age=0/);
  });
});

describe('CSRF', () => {
  const post = (
    cookie: string,
    body: Record<string, string>,
    headers: Record<string, string> = {},
  ) =>
    t.app.request('/dashboard/logout', {
      method: 'POST',
      headers: {
        cookie,
        'content-type': 'application/x-www-form-urlencoded',
        origin: 'http://localhost',
        ...headers,
      },
      body: new URLSearchParams(body).toString(),
    });

  it('refuses a state change without the token, with a wrong one, or from another origin', async () => {
    const s = await signIn(t.app, KEY_A);
    expect((await post(s.cookie, {})).status).toBe(403);
    expect((await post(s.cookie, { csrf: 'x'.repeat(24) })).status).toBe(403);
    expect(
      (await post(s.cookie, { csrf: s.csrf }, { origin: 'https://evil.example' })).status,
    ).toBe(403);
    expect((await post(s.cookie, { csrf: s.csrf }, { origin: 'null' })).status).toBe(403);
    const nullCross = { origin: 'null', 'sec-fetch-site': 'cross-site' };
    expect((await post(s.cookie, { csrf: s.csrf }, nullCross)).status).toBe(403);
    // Chromium's form post under no-referrer: Origin null, but same-origin fetch metadata.
    const nullSame = { origin: 'null', 'sec-fetch-site': 'same-origin' };
    expect((await post(s.cookie, { csrf: s.csrf }, nullSame)).status).toBe(303);
    // That signed the session out (refused from now on): a new one for the rest.
    const n = await signIn(t.app, KEY_A);
    const noOrigin = await t.app.request('/dashboard/logout', {
      method: 'POST',
      headers: { cookie: n.cookie, 'sec-fetch-site': 'cross-site', 'x-csrf-token': n.csrf },
    });
    expect(noOrigin.status).toBe(403);
    // The header form of the token (the client's fetch) is accepted.
    const header = await t.app.request('/dashboard/logout', {
      method: 'POST',
      headers: { cookie: n.cookie, origin: 'http://localhost', 'x-csrf-token': n.csrf },
    });
    expect(header.status).toBe(303);
  });

  it('erases a visitor only with the token: refused without it, erased with it', async () => {
    const visitor = 'erase-me-visitor-1';
    const res = await t.app.request(
      collectRequest(
        { site: 'a', visitor, events: [ev({ url: 'https://a.example/x' })] },
        { origin: 'https://a.example' },
      ),
    );
    expect(res.status).toBe(200);
    const s = await signIn(t.app, KEY_A);
    const page = await t.app.request(`/dashboard/visitors/${visitor}?site=a`, {
      headers: { cookie: s.cookie },
    });
    expect(page.status).toBe(200);
    const erase = (headers: Record<string, string>) =>
      t.app.request(`/dashboard/visitors/${visitor}/erase?site=a`, {
        method: 'POST',
        headers: { cookie: s.cookie, origin: 'http://localhost', ...headers },
      });
    expect((await erase({})).status).toBe(403);
    const still = await t.app.request(`/dashboard/visitors/${visitor}?site=a`, {
      headers: { cookie: s.cookie },
    });
    expect(still.status).toBe(200);
    const done = await erase({ 'x-csrf-token': s.csrf });
    expect(done.status).toBe(200);
    expect(await done.text()).toMatch(/Removed [1-9]\d* rows/);
    const gone = await t.app.request(`/dashboard/visitors/${visitor}?site=a`, {
      headers: { cookie: s.cookie },
    });
    expect(gone.status).toBe(404);
  });

  it("refuses another session's token", async () => {
    const one = await signIn(t.app, KEY_A);
    const two = await signIn(t.app, KEY_A);
    expect((await post(one.cookie, { csrf: two.csrf })).status).toBe(403);
  });
});

describe('sites', () => {
  it("a key for site A cannot open site B's pages", async () => {
    const s = await signIn(t.app, KEY_A);
    for (const path of [
      '/dashboard/',
      '/dashboard/segments',
      '/dashboard/visitors/v1',
      '/dashboard/live',
      '/dashboard/deliveries',
    ]) {
      const res = await t.app.request(`${path}?site=b`, { headers: { cookie: s.cookie } });
      expect(res.status, path).toBe(403);
      expect(await res.text()).not.toMatch(/Site <strong>b<\/strong>/);
    }
    const exp = await t.app.request('/dashboard/segments/x/export?site=b&format=csv', {
      headers: { cookie: s.cookie },
    });
    expect(exp.status).toBe(403);
    // Erasing in site B with a session of site A (token and origin right): refused, nothing erased.
    const erase = await t.app.request('/dashboard/visitors/v1/erase?site=b', {
      method: 'POST',
      headers: { cookie: s.cookie, origin: 'http://localhost', 'x-csrf-token': s.csrf },
    });
    expect(erase.status).toBe(403);
    expect(await erase.text()).not.toContain('Removed');
    const unknown = await t.app.request('/dashboard/?site=zzz', { headers: { cookie: s.cookie } });
    expect(unknown.status).toBe(404);
  });

  it('a key of several sites gets a picker of them', async () => {
    const s = await signIn(t.app, KEY_AB);
    const res = await t.app.request('/dashboard/?site=b', { headers: { cookie: s.cookie } });
    expect(res.status).toBe(200);
    const html = await res.text();
    expect(html).toMatch(/<select id="site-picker" name="site">/);
    expect(html).toMatch(/<option value="b" selected="">b<\/option>/);
  });

  it('a key removed from the config ends its sessions', async () => {
    const s = await signIn(t.app, KEY_B);
    const site = t.app && (await import('../../collector/config/config.ts')) && FILE.sites.b;
    expect(site).toBeDefined();
    const app2 = createApp({
      storage: t.storage,
      config: parseConfig({
        sites: { ...FILE.sites, b: { origins: ['https://b.example'], apiKeys: [KEY_AB] } },
      } as ConfigFile),
      now: () => T0,
      snippets: placeholderSnippets(),
    });
    expect((await app2.request('/dashboard/', { headers: { cookie: s.cookie } })).status).toBe(303);
  });
});

describe('the key', () => {
  it('is never logged, never in a page, never in a URL', async () => {
    const lines: string[] = [];
    const logged = createApp({
      storage: t.storage,
      config: parseConfig(FILE),
      now: () => T0,
      snippets: placeholderSnippets(),
      log: (level, msg, fields) => lines.push(JSON.stringify({ level, msg, fields })),
    });
    const wrong = 'wrong-key-LOGGED-0123456789';
    await logged.request('/dashboard/login', form({ key: wrong }));
    const s = await signIn(logged, KEY_A);
    const pages = [
      '/dashboard/',
      '/dashboard/segments',
      '/dashboard/live',
      '/dashboard/deliveries',
    ];
    for (const path of pages) {
      const res = await logged.request(path, { headers: { cookie: s.cookie } });
      expect(res.status, path).toBe(200);
      const html = await res.text();
      expect(html).not.toContain(KEY_A);
      expect(html).not.toContain(wrong);
    }
    // A key in the query string is ignored (the form posts it in the body only).
    const inUrl = await logged.request(`/dashboard/login?key=${KEY_A}`, {
      method: 'POST',
      headers: { origin: 'http://localhost' },
    });
    expect(inUrl.status).toBe(401);
    expect(inUrl.headers.get('set-cookie')).toBeNull();
    const all = lines.join('\n');
    expect(all).not.toContain(KEY_A);
    expect(all).not.toContain(wrong);
  });
});

describe('MICROSEG_DASHBOARD=0', () => {
  it('serves no dashboard route', async () => {
    const off = createApp({
      storage: t.storage,
      config: parseConfig(FILE),
      now: () => T0,
      snippets: placeholderSnippets(),
      dashboard: false,
    });
    for (const path of ['/dashboard/', '/dashboard/login', '/dashboard/assets/app.js'])
      expect((await off.request(path)).status, path).toBe(404);
    expect((await dashRequest(off, '/dashboard/login', form({ key: KEY_A }))).status).toBe(404);
  });
});
