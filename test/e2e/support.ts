/**
 * End-to-end support: Debian's Chromium driven by playwright-core, a real collector (`start()`)
 * on a temp SQLite file, and tiny static servers standing in for customer sites.
 */
import { existsSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import type { ConfigFile } from '../../collector/config.ts';
import { optionsFromEnv, start, type Running } from '../../collector/server.ts';
import { tempDir } from '../helpers.ts';
import { snippetCode } from '../snippet/harness.ts';

const CHROMIUM = ['/usr/lib/chromium/chromium', '/usr/bin/chromium'].find((p) => existsSync(p));

export function launchChromium(): Promise<Browser> {
  if (!CHROMIUM) throw new Error('Chromium not found: apt-get install -y chromium (.ci/run does it)');
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--disable-quic',
      '--no-first-run',
    ],
  });
}

/**
 * `npm test` builds first; a lone `vitest run test/e2e` (or one after a snippet edit) must still
 * serve the current snippet: the snippet suite's builder rebuilds a missing or stale bundle under a lock.
 */
export async function ensureSnippet(): Promise<void> {
  await snippetCode();
}

export interface Collector extends Running {
  /** Rows of the events table, in arrival order. */
  events(site: string): EventRow[];
  stop(): Promise<void>;
}

export interface EventRow {
  type: string;
  visitor: string;
  session: string | null;
  url: string | null;
  category: string | null;
  nav: string | null;
  target: string | null;
  outbound: number | null;
  value: number | null;
  currency: string | null;
  props: string | null;
}

/** A real collector on 127.0.0.1, a free port and a temp SQLite file; `config` is written to a file as in production. */
export async function startCollector(config?: ConfigFile): Promise<Collector> {
  await ensureSnippet();
  const tmp = tempDir();
  const opts = optionsFromEnv({});
  opts.port = 0;
  opts.host = '127.0.0.1';
  opts.db = join(tmp.dir, 'e2e.db');
  opts.logLevel = 'error';
  if (config) {
    opts.config = join(tmp.dir, 'sites.json');
    writeFileSync(opts.config, JSON.stringify(config));
  }
  const running = await start(opts, () => {});
  const events = running.storage.db.$client.prepare(
    'select type, visitor, session, url, category, nav, target, outbound, value, currency, props from events where site = ? order by rowid',
  );
  return {
    ...running,
    events: (site) => events.all(site) as EventRow[],
    async stop() {
      await running.close();
      tmp.cleanup();
    },
  };
}

/** A static site on its own 127.0.0.1 port (its own origin) answering every path with `html`. */
export async function serveHtml(html: (origin: string) => string): Promise<{ origin: string; close(): Promise<void> }> {
  let origin = '';
  const server: Server = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end(html(origin));
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const addr = server.address();
  origin = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`;
  return {
    origin,
    close: () =>
      new Promise<void>((ok) => {
        server.closeAllConnections();
        server.close(() => ok());
      }),
  };
}

/** Polls `read` until `done` holds, for at most `ms`; returns the last value either way. */
export async function waitFor<T>(read: () => T, done: (v: T) => boolean, ms = 5000): Promise<T> {
  const until = Date.now() + ms;
  let v = read();
  while (!done(v) && Date.now() < until) {
    await new Promise((r) => setTimeout(r, 50));
    v = read();
  }
  return v;
}
