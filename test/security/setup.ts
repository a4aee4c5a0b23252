/**
 * The attacker's view: a real collector app on a temp SQLite file served on 127.0.0.1 (real HTTP),
 * webhooks on, a settable clock (links lapse without waiting), and an API key for the site owner.
 */
import { serve, type ServerType } from '@hono/node-server';
import { createApp } from '../../collector/http/app.ts';
import { parseConfig, type ConfigFile } from '../../collector/config/config.ts';
import { keyRing } from '../../collector/identity/keys.ts';
import { placeholderSnippets } from '../../collector/http/snippet-asset.ts';
import { openTestStorage } from '../support/backend.ts';
import { startWebhooks } from '../../collector/webhooks/index.ts';
import type { CollectResponse, WireEvent } from '../../shared/wire.ts';
import type { Segment } from '../../shared/segment.ts';

export const KEY = 'security-api-key-0123456789';
export const SECRET = 'security-webhook-secret-0123456789';
export const ORIGIN = 'https://shop.example';
export const DAY = 86_400_000;
/** The collector's signing keys, known to the test so it can make what an older version made. */
export const ring = keyRing(['security-test-secret-security-test-secret']);

/** Segments built on private traits and money, next to a public one; a camera audience for webhooks. */
export function shopConfig(extra: Record<string, unknown> = {}): ConfigFile {
  return {
    sites: {
      shop: {
        origins: [ORIGIN],
        apiKeys: [KEY],
        allowAutomation: true,
        categories: [{ path: '/cameras/*', category: 'cameras' }],
        rules: {
          'women-md': {
            when: {
              all: [
                { fact: 'trait.gender', eq: 'f' },
                { fact: 'trait.region', eq: 'MD' },
              ],
            },
          },
          'big-spender': { when: { fact: 'purchases.total', gte: 1000 } },
          'cameras-fan': { when: { fact: 'affinity.cameras', gte: 0.5 } },
          'women-md-public': { when: { fact: 'trait.gender', eq: 'f' }, public: true },
        },
        ...extra,
      },
    },
    delivery: { backoffMs: 20, maxBackoffMs: 100, pollMs: 50, timeoutMs: 1000 },
  } as ConfigFile;
}

export async function securityApp(file: ConfigFile) {
  // The app's clock starts in the past: the worker sends a delivery when the wall clock reaches
  // its (app clock) creation time, so a test may move the app's clock ahead by up to 60 days.
  const { storage, close } = await openTestStorage();
  const clock = { now: Date.now() - 60 * DAY };
  const config = parseConfig(file);
  const app = createApp({
    storage,
    config,
    now: () => clock.now,
    snippets: placeholderSnippets(),
    keys: ring,
  });
  const t = {
    app,
    storage,
    clock,
    close,
  };
  const hooks = startWebhooks(storage, config, { now: Date.now });
  const server = await new Promise<ServerType>((ok) => {
    const s = serve({ fetch: t.app.fetch, port: 0, hostname: '127.0.0.1' }, () => ok(s));
  });
  const base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  let n = 0;
  const api = (path: string, init: RequestInit = {}) =>
    fetch(base + path, {
      ...init,
      headers: {
        authorization: `Bearer ${KEY}`,
        'content-type': 'application/json',
        ...init.headers,
      },
    });

  return {
    ...t,
    base,
    /** A browser batch of page views (or the given events) for `visitor`, with an optional token. */
    async collect(
      visitor: string,
      extra: { token?: string | null; events?: Partial<WireEvent>[] } = {},
    ) {
      const events = (extra.events ?? [{}]).map((e) => ({
        id: `sec${++n}`,
        type: 'page_view',
        ts: t.clock.now,
        url: `${ORIGIN}/cameras/c${n}`,
        ...e,
      }));
      const body = {
        site: 'shop',
        visitor,
        events,
        ...(extra.token ? { token: extra.token } : {}),
      };
      const res = await fetch(`${base}/v1/collect`, {
        method: 'POST',
        headers: { 'content-type': 'text/plain' },
        body: JSON.stringify(body),
      });
      return { status: res.status, body: (await res.json()) as CollectResponse };
    },
    async segment(visitor: string): Promise<Segment> {
      return (await (
        await fetch(`${base}/v1/segment?site=shop&visitor=${visitor}`)
      ).json()) as Segment;
    },
    api,
    /** A signed `/r` link (or a plain link) for the contact, made through the API as an email tool would. */
    async link(
      contact: string,
      opts: { plain?: boolean; to?: string; category?: string } = {},
    ): Promise<string> {
      const res = await api('/v1/links', {
        method: 'POST',
        body: JSON.stringify({
          site: 'shop',
          plain: opts.plain ?? false,
          links: [
            { contact, to: opts.to ?? `${ORIGIN}/cameras/`, category: opts.category ?? 'cameras' },
          ],
        }),
      });
      const made = (await res.json()) as { links: { url: string }[] };
      return made.links[0]!.url.replace(/^http:\/\/127\.0\.0\.1:\d+/, base);
    },
    /** Follows a `/r` link without following the redirect: the `ms_t` the landing page gets. */
    async click(link: string, method: 'GET' | 'HEAD' = 'GET'): Promise<string> {
      const headers = { 'user-agent': 'Mozilla/5.0 Firefox/128.0' };
      const res = await fetch(link, { method, redirect: 'manual', headers });
      if (res.status !== 302) throw new Error(`/r answered ${res.status}`);
      return new URL(res.headers.get('location')!).searchParams.get('ms_t')!;
    },
    /** Deliveries written to the outbox for the site (the receiver gets exactly these). */
    async outboxed(): Promise<number> {
      // Every status, newest first; a test writes far fewer than one page.
      return (await t.storage.outbox.list('shop', { limit: 1000 })).length;
    },
    async close() {
      await hooks.stop();
      await new Promise<void>((ok) => server.close(() => ok()));
      await t.close();
    },
  };
}
