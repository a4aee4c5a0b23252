/**
 * Sign-out ends the session on the server (`dashboard_signouts`): a copy of the cookie taken
 * before it is refused after it, by this app and by another app on the same database (another
 * collector process); an open Live stream of the session ends (at once in this process, at the
 * next heartbeat in another: that test waits `LIVE.heartbeatMs`); the retention job deletes a
 * sign-out once the session would have expired anyway.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ConfigFile } from '../../collector/config/config.ts';
import { parseConfig } from '../../collector/config/config.ts';
import { createApp } from '../../collector/http/app.ts';
import { placeholderSnippets } from '../../collector/http/snippet-asset.ts';
import { keyRing } from '../../collector/identity/keys.ts';
import { runRetention } from '../../collector/jobs/retention.ts';
import { DASHBOARD, LIVE } from '../../shared/limits.ts';
import { T0, testApp } from '../helpers.ts';
import { dashRequest, type Signed, signIn } from './support.ts';

const KEY_A = 'site-a-key-0123456789';
const FILE = { sites: { a: { origins: ['https://a.example'], apiKeys: [KEY_A] } } } as ConfigFile;

let t: Awaited<ReturnType<typeof testApp>>;
beforeAll(async () => {
  t = await testApp({ config: FILE, now: T0 });
});
afterAll(async () => t?.close());

type App = Pick<ReturnType<typeof createApp>, 'request'>;

const signOut = (app: App, s: Signed) =>
  app.request('/dashboard/logout', {
    method: 'POST',
    headers: {
      cookie: s.cookie,
      'content-type': 'application/x-www-form-urlencoded',
      origin: 'http://localhost',
    },
    body: new URLSearchParams({ csrf: s.csrf }).toString(),
  });

/** Two collectors on one database that sign sessions with the same secret, as `--workers` runs. */
function twoCollectors() {
  const ring = keyRing(['shared-secret-0123456789-0123456789-xx']);
  const app = () =>
    createApp({
      storage: t.storage,
      config: parseConfig(FILE),
      now: () => T0,
      snippets: placeholderSnippets(),
      keys: ring,
    });
  return [app(), app()] as const;
}

describe('sign-out ends the session on the server', () => {
  it('refuses a copy of the cookie taken before sign-out (page to the form, API 401, stream)', async () => {
    const s = await signIn(t.app, KEY_A);
    const copy = s.cookie;
    expect((await signOut(t.app, s)).status).toBe(303);
    const page = await dashRequest(t.app, '/dashboard/', { headers: { cookie: copy } });
    expect(page.status).toBe(303);
    expect(page.headers.get('location')).toBe('/dashboard/login');
    const post = await signOut(t.app, s);
    expect(post.status).toBe(401);
    const stream = await dashRequest(t.app, '/dashboard/live/stream?site=a', {
      headers: { cookie: copy },
    });
    expect(stream.headers.get('content-type') ?? '').not.toContain('event-stream');
    // Another session of the same key is untouched.
    const other = await signIn(t.app, KEY_A);
    expect((await t.app.request('/dashboard/', { headers: { cookie: other.cookie } })).status).toBe(
      200,
    );
  });

  it('is refused by another collector on the same database', async () => {
    const [one, two] = twoCollectors();
    const s = await signIn(one, KEY_A);
    expect((await two.request('/dashboard/', { headers: { cookie: s.cookie } })).status).toBe(200);
    expect((await signOut(one, s)).status).toBe(303);
    expect((await two.request('/dashboard/', { headers: { cookie: s.cookie } })).status).toBe(303);
  });

  it('ends an open Live stream of the session at once', async () => {
    const s = await signIn(t.app, KEY_A);
    const res = await dashRequest(t.app, '/dashboard/live/stream?site=a', {
      headers: { cookie: s.cookie },
    });
    expect(res.headers.get('content-type')).toContain('text/event-stream');
    const reader = res.body?.getReader();
    if (!reader) throw new Error('no body');
    const first = await reader.read();
    expect(new TextDecoder().decode(first.value)).toContain('event: hello');
    expect((await signOut(t.app, s)).status).toBe(303);
    let text = '';
    const deadline = Date.now() + 3000;
    for (;;) {
      const chunk = await Promise.race([
        reader.read(),
        new Promise<null>((r) => setTimeout(() => r(null), Math.max(0, deadline - Date.now()))),
      ]);
      if (chunk === null) throw new Error(`stream still open after sign-out: ${text}`);
      if (chunk.done) break;
      text += new TextDecoder().decode(chunk.value);
    }
    expect(text).toContain('event: end');
    expect(text).toContain('signed out');
  });

  it(
    'ends a Live stream in another collector at its next heartbeat check',
    async () => {
      const [one, two] = twoCollectors();
      const s = await signIn(one, KEY_A);
      const res = await two.request('/dashboard/live/stream?site=a', {
        headers: { cookie: s.cookie },
      });
      expect(res.headers.get('content-type')).toContain('text/event-stream');
      const reader = res.body?.getReader();
      if (!reader) throw new Error('no body');
      await reader.read();
      expect((await signOut(one, s)).status).toBe(303);
      const started = Date.now();
      let text = '';
      const deadline = started + LIVE.heartbeatMs + 3000;
      for (;;) {
        const chunk = await Promise.race([
          reader.read(),
          new Promise<null>((r) => setTimeout(() => r(null), Math.max(0, deadline - Date.now()))),
        ]);
        if (chunk === null) throw new Error(`stream still open after sign-out: ${text}`);
        if (chunk.done) break;
        text += new TextDecoder().decode(chunk.value);
      }
      expect(text).toContain('signed out');
      expect(Date.now() - started).toBeLessThanOrEqual(LIVE.heartbeatMs + 3000);
    },
    LIVE.heartbeatMs + 10_000,
  );

  it('writes one row per sign-out, deleted by the retention job after the session expires', async () => {
    const before = await runRetention(t.storage, parseConfig(FILE), T0);
    expect(before['*']?.dashboard_signouts ?? 0).toBe(0);
    const s = await signIn(t.app, KEY_A);
    await signOut(t.app, s);
    // Still within the session's life: kept.
    const kept = await runRetention(t.storage, parseConfig(FILE), T0 + DASHBOARD.sessionMs - 1);
    expect(kept['*']?.dashboard_signouts ?? 0).toBe(0);
    // Every earlier test's sign-outs (same expiry, clock fixed) and this one go.
    const gone = await runRetention(t.storage, parseConfig(FILE), T0 + DASHBOARD.sessionMs);
    expect(gone['*']?.dashboard_signouts).toBe(5);
    const again = await runRetention(t.storage, parseConfig(FILE), T0 + DASHBOARD.sessionMs);
    expect(again['*']?.dashboard_signouts ?? 0).toBe(0);
  });
});
