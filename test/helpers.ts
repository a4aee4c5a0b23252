/**
 * Test helpers: a collector app on a real database (a SQLite file in a temp folder, or a PostgreSQL
 * database of its own in the suite-pg project: test/support/backend.ts), with a settable clock.
 */
import { createApp } from '../collector/http/app.ts';
import { parseConfig, DEFAULT_CONFIG, type ConfigFile } from '../collector/config/config.ts';
import { placeholderSnippets } from '../collector/http/snippet-asset.ts';
import { openTestStorage } from './support/backend.ts';
import type { RateLimits } from '../collector/http/routes/limits.ts';
import type { WireEvent } from '../shared/wire.ts';

import { T0 } from './temp.ts';

import { LiveFeed } from '../collector/live/feed.ts';
export { DAY, T0, tempDir } from './temp.ts';

/** The Bearer token of `/metrics` on test apps (off the public app unless one is set). */
export const METRICS_TOKEN = 'test-metrics-token-0123456789';

export async function testApp(
  opts: { config?: ConfigFile; now?: number; limits?: RateLimits; selfOrigins?: string[] } = {},
) {
  const { storage, close } = await openTestStorage();
  const clock = { now: opts.now ?? T0 };
  const config = parseConfig(opts.config ?? DEFAULT_CONFIG);
  // The live feed is the app's; a test subscribes to it to see what the routes published.
  const live = new LiveFeed();
  const app = createApp({
    live,
    storage,
    config,
    now: () => clock.now,
    snippets: placeholderSnippets(),
    metricsToken: METRICS_TOKEN,
    ...(opts.limits ? { limits: { ...opts.limits, now: () => clock.now } } : {}),
    ...(opts.selfOrigins ? { selfOrigins: new Set(opts.selfOrigins) } : {}),
  });
  return {
    app,
    storage,
    clock,
    live,
    close,
  };
}

let seq = 0;
export function ev(over: Partial<WireEvent> = {}): WireEvent {
  seq++;
  return {
    id: `e${seq}_${Math.random().toString(36).slice(2, 10)}`,
    type: 'page_view',
    ts: T0,
    url: 'http://localhost:8787/demo/',
    ...over,
  };
}

/** A browser-style `POST /v1/collect`: a string or raw bytes go as they are, anything else as JSON. */
export function collectRequest(body: unknown, headers: Record<string, string> = {}) {
  return new Request('http://localhost:8787/v1/collect', {
    method: 'POST',
    headers: { 'content-type': 'text/plain;charset=UTF-8', ...headers },
    body:
      typeof body === 'string' || body instanceof Uint8Array
        ? (body as BodyInit)
        : JSON.stringify(body),
  });
}
