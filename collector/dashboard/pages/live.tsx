/**
 * The Live page (`/dashboard/live`): what the collector decides about each arrival of the site,
 * as it happens, with the fix for anything that did not count. The page is a frame; its rows come
 * from `GET /dashboard/live/stream` (server-sent events from the live feed, collector/live/feed.ts)
 * and are drawn by client/live.ts.
 *
 * The stream: behind the session (the dashboard's middleware), for one site the session opens
 * (`?site=`), plus the site-less refusals (an unknown site id, a forged email link) when the
 * session's key opens every configured site. Bounded by LIVE (shared/limits.ts): watchers per
 * process (503) and per session (429), a buffer per watcher (oldest dropped, the count sent as a
 * `dropped` event), a heartbeat comment; it ends when the session expires or its key stops
 * opening the site.
 */
import { Hono } from 'hono';
import { streamSSE } from 'hono/streaming';
import { LIVE } from '../../../shared/limits.ts';
import type { Deps } from '../../http/app.ts';
import { LIVE_OUTCOMES, type LiveOutcome } from '../../live/feed.ts';
import type { DashEnv } from '../guard.ts';
import { href, Layout, page, pageSite } from '../layout.tsx';
import { sessionId, sitesOfTag } from '../session.ts';

/** How each outcome is named on the page (the filter and the rows). */
export const OUTCOME_LABELS: Record<LiveOutcome, string> = {
  accepted: 'Accepted',
  duplicate: 'Duplicate',
  refused: 'Refused',
  bot: 'Bot / automation',
  origin_not_allowed: 'Origin not allowed',
  rate_limited: 'Rate limited',
  privacy: 'Privacy signal',
};

/** Whether the session's key opens every configured site: it alone sees site-less refusals. */
const opensEverySite = (deps: Deps, sites: readonly string[]) =>
  [...deps.config.sites.keys()].every((s) => sites.includes(s));

export function livePage(deps: Deps) {
  const app = new Hono<DashEnv>();

  app.get('/dashboard/live', (c) => {
    const { site, refused } = pageSite(c, deps);
    if (refused) return refused;
    const every = opensEverySite(deps, c.var.session.sites);
    return page(
      c,
      <Layout title="Live" session={c.var.session} site={site.id} active="live">
        <p class="note">
          What the collector decides about each request for site <strong>{site.id}</strong> as it
          arrives: stored, a duplicate, or not counted and why, with what to change. Nothing shows
          up from your pages? Load one now and watch here.
          {every
            ? ' Your key opens every site, so requests naming a site the collector does not have are shown too.'
            : ''}
        </p>
        <section
          id="live"
          class="live"
          aria-labelledby="live-title"
          data-stream={href('/dashboard/live/stream', site.id)}
          data-person={href('/dashboard/visitors/', undefined)}
          data-site={site.id}
          data-cap={String(LIVE.buffer)}
        >
          <h2 id="live-title">Arrivals, newest first</h2>
          <div class="live-controls">
            <button type="button" class="secondary" data-live="pause" aria-pressed="false">
              Pause
            </button>
            <label for="live-filter">Show</label>
            <select id="live-filter" data-live="filter">
              <option value="">every outcome</option>
              <option value="problems">everything not accepted</option>
              {LIVE_OUTCOMES.map((o) => (
                <option value={o}>{OUTCOME_LABELS[o]}</option>
              ))}
            </select>
            <button type="button" class="secondary" data-live="clear">
              Clear
            </button>
          </div>
          <p class="live-status" data-live="status">
            Connecting… (this page needs JavaScript to follow arrivals)
          </p>
          {/* Announced politely, and only a summary every few seconds: never one per event. */}
          <p class="live-summary" data-live="summary" role="status" aria-live="polite" />
          <ol class="live-rows" data-live="rows" aria-label="Arrivals" />
          <p class="note" data-live="empty">
            No arrival yet since this page opened.
          </p>
        </section>
      </Layout>,
    );
  });

  app.get('/dashboard/live/stream', (c) => {
    const session = c.var.session;
    const site = c.req.query('site') ?? session.sites[0] ?? '';
    if (!session.sites.includes(site) || !deps.config.sites.has(site))
      return c.text(`the session does not open site "${site}"`, 403);
    const everySite = opensEverySite(deps, session.sites);
    let wake = () => {};
    const sub = deps.live.subscribe(
      { sites: new Set([site]), everySite, session: session.csrf },
      () => wake(),
    );
    if (sub === 'too_many_watchers') {
      c.header('Retry-After', '30');
      return c.text(`this collector serves at most ${LIVE.subscribers} live pages at once`, 503);
    }
    if (sub === 'too_many_for_session') {
      c.header('Retry-After', '30');
      return c.text(`at most ${LIVE.perSession} live pages per session: close another tab`, 429);
    }
    return streamSSE(
      c,
      async (stream) => {
        stream.onAbort(() => {
          sub.close();
          wake();
        });
        await stream.writeSSE({
          event: 'hello',
          data: JSON.stringify({ site, everySite, buffer: LIVE.buffer }),
          retry: 5000,
        });
        while (!stream.aborted && !stream.closed) {
          if (sub.ended) {
            await stream.writeSSE({ event: 'end', data: 'signed out: sign in again' });
            break;
          }
          const { entries, dropped } = sub.take(LIVE.writeBatch);
          if (dropped > 0) await stream.writeSSE({ event: 'dropped', data: String(dropped) });
          for (const e of entries)
            await stream.writeSSE({ event: 'entry', id: String(e.id), data: JSON.stringify(e) });
          if (sub.pending > 0) continue;
          const left = session.exp - deps.now();
          if (left <= 0) {
            await stream.writeSSE({ event: 'end', data: 'the session has expired: sign in again' });
            break;
          }
          const woken = await new Promise<boolean>((resolve) => {
            const timer = setTimeout(() => resolve(false), Math.min(LIVE.heartbeatMs, left));
            wake = () => {
              clearTimeout(timer);
              resolve(true);
            };
          });
          wake = () => {};
          if (woken) continue;
          // Quiet for a while: a comment keeps proxies from closing the connection, and the
          // key is checked again (removed from the config: the stream ends).
          if (!sitesOfTag(deps.config, deps.keys, session.tag).includes(site)) {
            await stream.writeSSE({ event: 'end', data: 'the key no longer opens this site' });
            break;
          }
          // Signed out through another process: seen here within one heartbeat.
          if (await deps.storage.signedOut(sessionId(session))) {
            await stream.writeSSE({ event: 'end', data: 'signed out: sign in again' });
            break;
          }
          await stream.write(': heartbeat\n\n');
        }
        sub.close();
      },
      async (err, stream) => {
        sub.close();
        deps.log('warn', 'live stream failed', { err: String(err) });
        await stream.close();
      },
    );
  });

  return app;
}
