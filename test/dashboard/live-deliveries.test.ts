/**
 * The Live and Deliveries pages behind the session (no browser): the SSE stream's refusals and
 * entries, scoped to the session's site; the deliveries list and its replay (failed only, CSRF,
 * another site's delivery 404), through the same storage functions as the API.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DASHBOARD, LIVE } from '../../shared/limits.ts';
import { collectRequest, ev, T0, testApp } from '../helpers.ts';
import { dashRequest, KEY_A, KEY_AB, KEY_B, signIn, TWO_SITES } from './support.ts';

const FILE = TWO_SITES;

let t: Awaited<ReturnType<typeof testApp>>;
beforeAll(async () => {
  t = await testApp({ config: FILE, now: T0 });
});
afterAll(async () => t?.close());

/** Reads an SSE body until `until` says it has what it wants (or 3 s pass); cancels the stream. */
async function readEvents(
  res: Response,
  until: (events: { event: string; data: string }[]) => boolean,
) {
  const reader = res.body?.getReader();
  if (!reader) throw new Error('no body');
  const decoder = new TextDecoder();
  let text = '';
  const events: { event: string; data: string }[] = [];
  const deadline = Date.now() + 3000;
  while (Date.now() < deadline && !until(events)) {
    const chunk = await Promise.race([
      reader.read(),
      new Promise<null>((r) => setTimeout(() => r(null), 200)),
    ]);
    if (chunk === null) continue;
    if (chunk.done) break;
    text += decoder.decode(chunk.value, { stream: true });
    let end = text.indexOf('\n\n');
    while (end >= 0) {
      const block = text.slice(0, end);
      text = text.slice(end + 2);
      const event = /^event: (.*)$/m.exec(block)?.[1];
      const data = /^data: (.*)$/m.exec(block)?.[1];
      if (event && data !== undefined) events.push({ event, data });
      end = text.indexOf('\n\n');
    }
  }
  await reader.cancel();
  return events;
}

const browserUA = { 'user-agent': 'Mozilla/5.0 (X11; Linux x86_64) Chrome/120.0 Safari/537.36' };

describe('Live: GET /dashboard/live/stream', () => {
  it('refuses without a session (to the sign-in form, no stream), and for a site the session does not open (403)', async () => {
    // A GET without a session is sent to the sign-in form (the dashboard's guard): an
    // EventSource gets HTML, not a stream, and fails.
    for (const path of ['/dashboard/live/stream?site=a', '/dashboard/live?site=a']) {
      const none = await dashRequest(t.app, path, { headers: { accept: 'text/event-stream' } });
      expect(none.status).toBe(303);
      expect(none.headers.get('location')).toBe('/dashboard/login');
      expect(none.headers.get('content-type') ?? '').not.toContain('event-stream');
    }
    const forged = await dashRequest(t.app, '/dashboard/live/stream?site=a', {
      headers: { cookie: 'microseg_dashboard=forged.value' },
    });
    expect(forged.status).toBe(303);
    const { cookie } = await signIn(t.app, KEY_A);
    const other = await dashRequest(t.app, '/dashboard/live/stream?site=b', {
      headers: { cookie },
    });
    expect(other.status).toBe(403);
    expect(t.live.watchers).toBe(0);
  });

  it("streams the session's site's outcomes, not another site's, and closes the watcher when the client goes", async () => {
    const { cookie } = await signIn(t.app, KEY_A);
    const page = await dashRequest(t.app, '/dashboard/live?site=a', { headers: { cookie } });
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain('data-stream="/dashboard/live/stream?site=a"');
    expect(html).toContain('aria-live="polite"');

    const res = await dashRequest(t.app, '/dashboard/live/stream?site=a', { headers: { cookie } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/event-stream');
    expect(t.live.wants('a')).toBe(true);
    expect(t.live.wants('b')).toBe(false);
    await t.app.request(
      collectRequest(
        { site: 'b', visitor: 'vb', events: [ev({ url: 'https://b.example/' })] },
        { ...browserUA, origin: 'https://b.example' },
      ),
    );
    await t.app.request(
      collectRequest(
        { site: 'a', visitor: 'va', events: [ev({ url: 'https://a.example/' })] },
        { ...browserUA, origin: 'https://evil.example' },
      ),
    );
    await t.app.request(
      collectRequest(
        { site: 'a', visitor: 'va', events: [ev({ url: 'https://a.example/' })] },
        { ...browserUA, origin: 'https://a.example' },
      ),
    );
    const events = await readEvents(res, (es) => es.filter((e) => e.event === 'entry').length >= 2);
    expect(events[0]?.event).toBe('hello');
    expect(JSON.parse(events[0]?.data ?? '{}')).toMatchObject({ site: 'a', everySite: false });
    const entries = events.filter((e) => e.event === 'entry').map((e) => JSON.parse(e.data));
    expect(entries.map((e) => [e.site, e.outcome])).toEqual([
      ['a', 'origin_not_allowed'],
      ['a', 'accepted'],
    ]);
    expect(entries[0].fix).toContain('sites.a.origins');
    // No raw address on an entry (only what the request said: origin, site, visitor).
    expect(JSON.stringify(entries)).not.toMatch(/127\.0\.0\.1|::1/);
    // The client went away: the watcher is gone, and the feed builds nothing again.
    await new Promise((r) => setTimeout(r, 50));
    expect(t.live.watchers).toBe(0);
  });

  it('a key that opens every site also sees requests naming an unknown site', async () => {
    const { cookie } = await signIn(t.app, KEY_AB);
    const res = await dashRequest(t.app, '/dashboard/live/stream?site=a', { headers: { cookie } });
    expect(res.status).toBe(200);
    await t.app.request(collectRequest({ site: 'nope', visitor: 'v', events: [ev()] }, browserUA));
    const events = await readEvents(res, (es) => es.some((e) => e.event === 'entry'));
    expect(JSON.parse(events[0]?.data ?? '{}')).toMatchObject({ everySite: true });
    const entry = JSON.parse(events.find((e) => e.event === 'entry')?.data ?? '{}');
    expect(entry).toMatchObject({ site: null, reason: 'unknown_site' });
  });

  it('ends the stream when the session expires', async () => {
    const { cookie } = await signIn(t.app, KEY_A);
    const res = await dashRequest(t.app, '/dashboard/live/stream?site=a', { headers: { cookie } });
    t.clock.now = T0 + DASHBOARD.sessionMs + 1;
    try {
      await t.app.request(
        collectRequest(
          {
            site: 'a',
            visitor: 'va',
            events: [ev({ ts: t.clock.now, url: 'https://a.example/' })],
          },
          { ...browserUA, origin: 'https://a.example' },
        ),
      );
      const events = await readEvents(res, (es) => es.some((e) => e.event === 'end'));
      expect(events.at(-1)).toEqual({
        event: 'end',
        data: 'the session has expired: sign in again',
      });
      await new Promise((r) => setTimeout(r, 50));
      expect(t.live.watchers).toBe(0);
    } finally {
      t.clock.now = T0;
    }
  });

  it(`at most ${LIVE.perSession} streams per session (429)`, async () => {
    const { cookie } = await signIn(t.app, KEY_B);
    const open: Response[] = [];
    for (let i = 0; i < LIVE.perSession; i++) {
      const r = await dashRequest(t.app, '/dashboard/live/stream?site=b', { headers: { cookie } });
      expect(r.status).toBe(200);
      open.push(r);
    }
    const extra = await dashRequest(t.app, '/dashboard/live/stream?site=b', {
      headers: { cookie },
    });
    expect(extra.status).toBe(429);
    for (const r of open) await r.body?.cancel();
    await new Promise((r) => setTimeout(r, 50));
    expect(t.live.watchers).toBe(0);
  });
});

describe('Deliveries', () => {
  /** A delivery of `site` that failed every attempt, and a pending one. */
  async function deliveries(site: 'a' | 'b') {
    const row = (visitor: string) => ({
      site,
      visitor,
      contact: null,
      hook: 'crm',
      url: 'https://crm.example/hook',
      segment: 'vip',
      change: 'enter' as const,
      body: (id: string) => JSON.stringify({ id }),
    });
    const [failed, pending] = await t.storage.write((tx) =>
      tx.outbox.enqueue([row(`${site}-v1`), row(`${site}-v2`)], T0),
    );
    if (!failed || !pending) throw new Error('not enqueued');
    await t.storage.outbox.attemptFailed(failed, 8, 500, 'HTTP 500 from the receiver', T0, null);
    return { failed, pending };
  }

  const replay = (id: string, site: string, cookie: string, csrf: string | null) => {
    const body = new URLSearchParams(csrf === null ? {} : { csrf }).toString();
    return dashRequest(t.app, `/dashboard/deliveries/${id}/replay?site=${site}`, {
      method: 'POST',
      headers: {
        cookie,
        origin: 'http://localhost',
        'content-type': 'application/x-www-form-urlencoded',
      },
      body,
    });
  };

  it('lists by status with target, change, attempts and last error; Replay only on failed ones', async () => {
    const { failed, pending } = await deliveries('a');
    const { cookie } = await signIn(t.app, KEY_A);
    const all = await (
      await dashRequest(t.app, '/dashboard/deliveries?site=a', { headers: { cookie } })
    ).text();
    expect(all).toContain(failed);
    expect(all).toContain(pending);
    expect(all).toContain('https://crm.example/hook');
    expect(all).toContain('HTTP 500 from the receiver');
    expect(all.match(/>\s*Replay\s*</g)).toHaveLength(1);
    expect(all).toContain(`/dashboard/deliveries/${failed}/replay?site=a`);
    const onlyFailed = await (
      await dashRequest(t.app, '/dashboard/deliveries?site=a&status=failed', {
        headers: { cookie },
      })
    ).text();
    expect(onlyFailed).toContain(failed);
    expect(onlyFailed).not.toContain(pending);
    const bad = await dashRequest(t.app, '/dashboard/deliveries?site=a&status=nope', {
      headers: { cookie },
    });
    expect(bad.status).toBe(400);
  });

  it('replays a failed delivery (CSRF checked), refuses a pending one (409) and another site’s (404)', async () => {
    const { failed, pending } = await deliveries('a');
    const other = await deliveries('b');
    const { cookie, csrf } = await signIn(t.app, KEY_A);
    // Without the CSRF token: refused, nothing replayed.
    expect((await replay(failed, 'a', cookie, null)).status).toBe(403);
    expect((await t.storage.outbox.get('a', failed))?.status).toBe('failed');
    const ok = await replay(failed, 'a', cookie, csrf);
    expect(ok.status).toBe(303);
    expect(ok.headers.get('location')).toBe(`/dashboard/deliveries?site=a&replayed=${failed}`);
    expect(await t.storage.outbox.get('a', failed)).toMatchObject({
      status: 'pending',
      attempts: 0,
    });
    expect((await replay(pending, 'a', cookie, csrf)).status).toBe(409);
    // Site b's delivery through site a: unknown; through site b: the session does not open it.
    expect((await replay(other.failed, 'a', cookie, csrf)).status).toBe(404);
    expect((await replay(other.failed, 'b', cookie, csrf)).status).toBe(403);
    expect((await t.storage.outbox.get('b', other.failed))?.status).toBe('failed');
  });
});
