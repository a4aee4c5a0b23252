/**
 * End-to-end support: the same scenarios in Debian's Chromium (playwright-core, CDP) and Debian's
 * firefox-esr (puppeteer-core, WebDriver BiDi) behind one small page API; a real collector
 * (`start()`) on a temp SQLite file; a recording proxy in front of it that can fail or hold
 * requests; and tiny static servers standing in for customer sites. No request interception in the
 * browsers: what a test needs to see or change on the wire, the proxy sees and changes, the same
 * way for both engines.
 */
import { appendFileSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { createServer, request as httpRequest, type IncomingMessage, type Server } from 'node:http';
import type { Socket } from 'node:net';
import { join } from 'node:path';
import { chromium, type Browser as PwBrowser, type Page as PwPage } from 'playwright-core';
import puppeteer, { type Browser as PpBrowser, type Page as PpPage } from 'puppeteer-core';
import type { ConfigFile } from '../../collector/config/config.ts';
import { optionsFromEnv, start, type Running } from '../../collector/http/server.ts';
import { sqliteHandle } from '../../collector/storage/sqlite/index.ts';
import { tempDir } from '../helpers.ts';
import { snippetCode } from '../snippet/harness.ts';

const CHROMIUM = ['/usr/lib/chromium/chromium', '/usr/bin/chromium'].find((p) => existsSync(p));
const FIREFOX = ['/usr/bin/firefox-esr', '/usr/lib/firefox-esr/firefox-esr'].find((p) =>
  existsSync(p),
);

// ---------------------------------------------------------------------------------------------
// Browsers

export type EngineName = 'chromium' | 'firefox';

export interface Engine {
  name: EngineName;
  launch(): Promise<TestBrowser>;
}

/** A layout viewport in CSS pixels, e.g. a phone's 390 × 844. */
export interface Viewport {
  width: number;
  height: number;
}

export interface TestBrowser {
  /** A new context: its own storage (a new visitor), its own pages (of `viewport`'s size, if given). */
  newContext(opts?: { viewport?: Viewport }): Promise<TestContext>;
  close(): Promise<void>;
}

export interface TestContext {
  newPage(): Promise<TestPage>;
  /** The context's cookies, with the attributes the browser keeps (`expires` in epoch seconds). */
  cookies(): Promise<StoredCookie[]>;
  close(): Promise<void>;
}

export interface StoredCookie {
  name: string;
  value: string;
  domain: string;
  path: string;
  expires: number;
  httpOnly: boolean;
  secure: boolean;
  sameSite?: string;
}

export interface TestPage {
  /** Uncaught errors of the page's scripts, in order. */
  readonly errors: string[];
  /** Navigates and waits for `load`; the main document's status. */
  goto(url: string): Promise<number | null>;
  /** A real mouse click on the first element matching `selector` (scrolled into view). */
  click(selector: string): Promise<void>;
  evaluate<R, A = undefined>(fn: (arg: A) => R | Promise<R>, arg?: A): Promise<R>;
  /** Waits until an element matches `selector` (in the DOM, shown or not). */
  waitForSelector(selector: string, ms?: number): Promise<void>;
  /** Waits until `fn` returns something truthy in the page. */
  waitForFunction(fn: () => unknown, ms?: number): Promise<void>;
  url(): string;
  /** Runs `fn` in every document of this page before its own scripts. */
  addInitScript(fn: () => void): Promise<void>;
  /** The next popup this page opens; close it to leave the test offline. */
  nextPopup(): Promise<{ close(): Promise<void> }>;
  reload(): Promise<void>;
  screenshot(path: string): Promise<void>;
  /** Closes the tab as a user would: `pagehide` and `beforeunload` run. */
  close(): Promise<void>;
}

const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-quic',
  '--no-first-run',
];

/** `bfcache`: keep Chromium's back/forward cache, which playwright turns off by default. */
export function launchChromium(opts: { bfcache?: boolean } = {}): Promise<PwBrowser> {
  if (!CHROMIUM)
    throw new Error('Chromium not found: apt-get install -y chromium (.ci/run does it)');
  const keep = opts.bfcache ? { ignoreDefaultArgs: ['--disable-back-forward-cache'] } : {};
  return chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, ...keep });
}

/** Debian's firefox-esr over WebDriver BiDi; puppeteer-core downloads no browser. */
export function launchFirefox(): Promise<PpBrowser> {
  if (!FIREFOX)
    throw new Error('Firefox not found: apt-get install -y firefox-esr (.ci/run does it)');
  return puppeteer.launch({ browser: 'firefox', executablePath: FIREFOX, headless: true });
}

function playwrightPage(page: PwPage): TestPage {
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  return {
    errors,
    goto: async (url) => (await page.goto(url))?.status() ?? null,
    click: (selector) => page.click(selector),
    evaluate: (fn, arg) => page.evaluate(fn, arg as never),
    waitForSelector: async (selector, ms = 5000) => {
      await page.waitForSelector(selector, { state: 'attached', timeout: ms });
    },
    waitForFunction: async (fn, ms = 5000) => {
      await page.waitForFunction(fn, undefined, { timeout: ms, polling: 50 });
    },
    url: () => page.url(),
    addInitScript: async (fn) => {
      await page.addInitScript(fn);
    },
    nextPopup: () => page.waitForEvent('popup'),
    reload: async () => {
      await page.reload();
    },
    screenshot: async (path) => {
      await page.screenshot({ path });
    },
    close: () => page.close({ runBeforeUnload: true }),
  };
}

function puppeteerPage(page: PpPage): TestPage {
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e instanceof Error ? e.message : String(e)));
  return {
    errors,
    goto: async (url) => (await page.goto(url))?.status() ?? null,
    click: (selector) => page.click(selector),
    evaluate: (fn, arg) => page.evaluate(fn as (a: unknown) => unknown, arg) as never,
    waitForSelector: async (selector, ms = 5000) => {
      await page.waitForSelector(selector, { timeout: ms });
    },
    waitForFunction: async (fn, ms = 5000) => {
      await page.waitForFunction(fn, { timeout: ms, polling: 50 });
    },
    url: () => page.url(),
    addInitScript: async (fn) => {
      await page.evaluateOnNewDocument(fn);
    },
    nextPopup: () =>
      new Promise((ok) =>
        page.once('popup', (p) => ok({ close: () => (p ? p.close() : Promise.resolve()) })),
      ),
    reload: async () => {
      await page.reload();
    },
    screenshot: async (path) => {
      await page.screenshot({ path: path as `${string}.png` });
    },
    close: () => page.close({ runBeforeUnload: true }),
  };
}

export const chromiumEngine: Engine = {
  name: 'chromium',
  launch: () => chromiumWith(),
};

/** Chromium with its back/forward cache on, as for people (playwright turns it off). */
export const chromiumBfcacheEngine: Engine = {
  name: 'chromium',
  launch: () => chromiumWith({ bfcache: true }),
};

async function chromiumWith(opts: { bfcache?: boolean } = {}): Promise<TestBrowser> {
  const browser = await launchChromium(opts);
  return {
    async newContext(opts = {}) {
      const context = await browser.newContext(opts.viewport ? { viewport: opts.viewport } : {});
      return {
        newPage: async () => playwrightPage(await context.newPage()),
        cookies: () => context.cookies(),
        close: () => context.close(),
      };
    },
    close: () => browser.close(),
  };
}

export const firefoxEngine: Engine = {
  name: 'firefox',
  async launch() {
    const browser = await launchFirefox();
    return {
      async newContext(opts = {}) {
        const context = await browser.createBrowserContext();
        return {
          newPage: async () => {
            const page = await context.newPage();
            if (opts.viewport) await page.setViewport(opts.viewport);
            return puppeteerPage(page);
          },
          // puppeteer's `httpOnly` may be absent (false).
          cookies: async () =>
            (await context.cookies()).map((c) => ({ ...c, httpOnly: c.httpOnly ?? false })),
          close: () => context.close(),
        };
      },
      close: () => browser.close(),
    };
  },
};

/** Every scenario runs in both: `describe.each(engines)('%s', …)` (the name prints through toString). */
export const engines: Engine[] = [chromiumEngine, firefoxEngine].map((e) => ({
  ...e,
  toString: () => e.name,
}));

// Page helpers over evaluate: the same DOM reads in both engines.

/** Whether `selector` matches an element a visitor can see: displayed, not hidden, with a box. */
export const isVisible = (page: TestPage, selector: string) =>
  page.evaluate((s) => {
    const el = document.querySelector(s);
    if (!el) return false;
    const style = getComputedStyle(el);
    return (
      style.display !== 'none' && style.visibility !== 'hidden' && el.getClientRects().length > 0
    );
  }, selector);

export const textOf = (page: TestPage, selector: string) =>
  page.evaluate((s) => document.querySelector(s)?.textContent ?? null, selector);

export const attributeOf = (page: TestPage, selector: string, name: string) =>
  page.evaluate(([s, n]) => document.querySelector(s)?.getAttribute(n) ?? null, [
    selector,
    name,
  ] as const);

/**
 * Waits until the page's document is at `url` (a navigation or a history entry). Asked of the page
 * itself: puppeteer's `page.url()` misses a Firefox back/forward cache restore. During a navigation
 * the question may find no document: then ask again.
 */
export const waitForURL = (page: TestPage, url: string, ms = 5000) =>
  waitUntil(
    () =>
      page
        .evaluate(() => location.href)
        .then(
          (href) => href === url,
          () => false,
        ),
    ms,
  );

// ---------------------------------------------------------------------------------------------
// The collector and the servers around it

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
  /** Every row of the visitors who sent an event whose url contains `tag`, in arrival order. */
  visitRows(site: string, tag: string): EventRow[];
  stop(): Promise<void>;
}

export interface EventRow {
  id: string;
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

/**
 * A real collector on 127.0.0.1, a free port and a temp SQLite file; `config` is written to a file
 * as in production.
 */
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
  const columns =
    'id, type, visitor, session, url, category, nav, target, outbound, value, currency, props';
  // The stored rows as they are, in arrival order: no storage read lists events.
  const events = sqliteHandle(running.storage).prepare(
    `select ${columns} from events where site = ? order by rowid`,
  );
  const all = (site: string) => events.all(site) as EventRow[];
  return {
    ...running,
    events: all,
    visitRows(site, tag) {
      const rows = all(site);
      const visitors = new Set(rows.filter((r) => r.url?.includes(tag)).map((r) => r.visitor));
      return rows.filter((r) => visitors.has(r.visitor));
    },
    async stop() {
      await running.close();
      tmp.cleanup();
    },
  };
}

/** A shop on its own origin (site `shop`, automation allowed) that loads the snippet through a proxy. */
export interface Shop {
  collector: Collector;
  proxy: ShopProxy;
  site: Site;
  close(): Promise<void>;
}

/**
 * The usual rig: a shop whose pages (`page(proxyUrl)`) load the snippet from a recording proxy in
 * front of a real collector that lists the shop's origin.
 */
export async function startShop(page: (proxyUrl: string) => string): Promise<Shop> {
  let proxyUrl = '';
  const site = await serveSite(() => page(proxyUrl));
  const collector = await startCollector({
    sites: { shop: { origins: [site.origin], allowAutomation: true } },
  });
  const proxy = await startProxy(collector.url);
  proxyUrl = proxy.url;
  return {
    collector,
    proxy,
    site,
    async close() {
      await Promise.all([proxy.close(), site.close()]);
      await collector.stop();
    },
  };
}

export interface Page {
  html: string;
  headers?: Record<string, string>;
}

export interface Site {
  origin: string;
  close(): Promise<void>;
}

/** A static site on its own 127.0.0.1 port (its own origin): `page(path, origin)` answers each path. */
export async function serveSite(
  page: (path: string, origin: string) => Page | string,
): Promise<Site> {
  let origin = '';
  const server: Server = createServer((req, res) => {
    const answer = page(req.url ?? '/', origin);
    const { html, headers } = typeof answer === 'string' ? { html: answer, headers: {} } : answer;
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', ...headers });
    res.end(html);
  });
  origin = await listen(server);
  return { origin, close: () => closeServer(server) };
}

/** A static site answering every path with `html`. */
export const serveHtml = (html: (origin: string) => string) =>
  serveSite((_path, origin) => html(origin));

export interface Exchange {
  method: string;
  path: string;
  /** The request's Origin header (`'null'` as sent), undefined without one. */
  origin: string | undefined;
  body: string;
  /** The answer's status; 0 when the proxy cut the connection instead. */
  status: number;
  headers: Record<string, string | string[] | undefined>;
  /** The answer's body as text. */
  answer: string;
  /** Milliseconds since the proxy started, when the request arrived. */
  at: number;
}

export type ProxyMode = 'pass' | 'unavailable' | 'unreachable' | 'hold';

export interface ShopProxy {
  url: string;
  /** Every request and its answer, in arrival order (a held one appears once answered). */
  exchanges: Exchange[];
  /**
   * `pass` forwards; `unavailable` answers browser endpoints 503 (Retry-After: 1, CORS); `unreachable`
   * cuts their connections, as a collector that is down; `hold` keeps them until the mode changes.
   */
  mode(m: ProxyMode): void;
  /** Paths of the requests held now. */
  held(): string[];
  /** Milliseconds since the proxy started. */
  now(): number;
  close(): Promise<void>;
}

const BROWSER_API = /^\/v1\/(collect|segment)/;

/**
 * A recording proxy in front of the collector: pages load the snippet from it, so every batch and
 * segment read of both browsers passes here. The Host header goes through unchanged, so the
 * collector sees the proxy's origin as its own (the demo stays same-origin).
 */
export async function startProxy(target: string): Promise<ShopProxy> {
  const t0 = Date.now();
  const { hostname, port } = new URL(target);
  const exchanges: Exchange[] = [];
  let current: ProxyMode = 'pass';
  const held: { path: string; go: () => void }[] = [];
  const sockets = new Set<Socket>();

  const forward = (
    req: IncomingMessage,
    body: Buffer,
    at: number,
    res: import('node:http').ServerResponse,
  ) => {
    const base = {
      method: req.method!,
      path: req.url!,
      origin: req.headers.origin,
      body: body.toString(),
      at,
    };
    if (BROWSER_API.test(req.url!) && current === 'unreachable') {
      exchanges.push({ ...base, status: 0, headers: {}, answer: '' });
      return void req.socket.destroy();
    }
    if (BROWSER_API.test(req.url!) && current === 'unavailable') {
      exchanges.push({ ...base, status: 503, headers: {}, answer: 'unavailable' });
      // With the page's CORS grant, so the snippet reads a 503 (without it, it sees what `unreachable` gives).
      const cors = req.headers.origin ? { 'access-control-allow-origin': req.headers.origin } : {};
      res.writeHead(503, { 'retry-after': '1', 'content-type': 'text/plain', ...cors });
      return void res.end('unavailable');
    }
    const out = httpRequest(
      { host: hostname, port, method: req.method, path: req.url, headers: req.headers },
      (up) => {
        const chunks: Buffer[] = [];
        up.on('data', (c: Buffer) => chunks.push(c));
        up.on('end', () => {
          const answer = Buffer.concat(chunks);
          exchanges.push({
            ...base,
            status: up.statusCode ?? 0,
            headers: up.headers,
            answer: answer.toString(),
          });
          res.writeHead(up.statusCode ?? 502, up.headers);
          res.end(answer);
        });
      },
    );
    out.on('error', () => res.destroy());
    out.end(body);
  };

  const server = createServer((req, res) => {
    const at = Date.now() - t0;
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const go = () => forward(req, body, at, res);
      if (BROWSER_API.test(req.url!) && current === 'hold') held.push({ path: req.url!, go });
      else go();
    });
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.once('close', () => sockets.delete(s));
  });
  const url = await listen(server);
  return {
    url,
    exchanges,
    mode(m) {
      current = m;
      // A collector going down also drops its open connections.
      if (m === 'unreachable') for (const s of sockets) s.destroy();
      if (m !== 'hold') for (const h of held.splice(0)) h.go();
    },
    held: () => held.map((h) => h.path),
    now: () => Date.now() - t0,
    close: () => closeServer(server),
  };
}

async function listen(server: Server): Promise<string> {
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const addr = server.address();
  return `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`;
}

const closeServer = (server: Server) =>
  new Promise<void>((ok) => {
    server.closeAllConnections();
    server.close(() => ok());
  });

/** Polls `read` until `done` holds, for at most `ms`; returns the last value either way. */
export async function waitFor<T>(
  read: () => T | Promise<T>,
  done: (v: T) => boolean,
  ms = 5000,
): Promise<T> {
  const until = Date.now() + ms;
  let v = await read();
  while (!done(v) && Date.now() < until) {
    await new Promise((r) => setTimeout(r, 50));
    v = await read();
  }
  return v;
}

/** Polls `check` (sync or async) until it holds; throws after `ms`. */
export async function waitUntil(check: () => unknown, ms = 5000): Promise<void> {
  const until = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > until)
      throw new Error(`condition not met within ${ms} ms: ${check.toString()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

// ---------------------------------------------------------------------------------------------
// Events generated vs stored, per scenario and engine

/** The path of the page a next visit loads to collect what a closed page kept (see `rowsAfterLeaving`). */
export const REVISIT = '/__next-visit';

/**
 * The rows of a visit whose page was closed or left, once its leaving batch is in. In Chromium it
 * must arrive with the leaving page. Firefox, on a loaded machine, was seen to drop a closing tab's
 * beacon (and a keepalive fetch) that the snippet had sent; the snippet keeps every leaving batch
 * in its retry queue for that case, and the next page load of the same profile sends it. So in
 * Firefox, when rows are missing, `revisit()` loads one more page in the same context (at
 * `REVISIT`, whose own rows are left out) and the rows must arrive then, still exactly once.
 * `late` says which way they came, for the count table.
 */
export async function rowsAfterLeaving(
  engine: EngineName,
  read: () => EventRow[],
  generated: number,
  revisit: () => Promise<void>,
): Promise<{ rows: EventRow[]; late: boolean }> {
  const visit = () => read().filter((r) => !r.url?.includes(REVISIT));
  let rows = await waitFor(visit, (r) => r.length >= generated);
  const late = rows.length < generated && engine === 'firefox';
  if (late) {
    await revisit();
    rows = await waitFor(visit, (r) => r.length >= generated);
  }
  // A retry or a second sender would add rows after the expected ones: give them a moment to show.
  await new Promise((r) => setTimeout(r, 300));
  return { rows: visit(), late };
}

export interface Count {
  scenario: string;
  engine: EngineName;
  generated: number;
  stored: number;
  /** The batches seen, as `Origin:status` (e.g. `null:200`, a Firefox beacon under no-referrer). */
  batches?: string[];
  /** The leaving batch came with a next visit, from the snippet's retry queue (`rowsAfterLeaving`). */
  late?: boolean;
}

const counts: Count[] = [];

/**
 * Notes one scenario's count (printed by `printCounts` after the file, and appended to
 * test-results/e2e-counts.jsonl for the record).
 */
export function noteCount(c: Count): void {
  counts.push(c);
  mkdirSync('test-results', { recursive: true });
  appendFileSync(
    'test-results/e2e-counts.jsonl',
    `${JSON.stringify({ ...c, when: new Date().toISOString() })}\n`,
  );
}

export function printCounts(): void {
  if (counts.length === 0) return;
  const w = Math.max(...counts.map((c) => c.scenario.length));
  const row = (
    scenario: string,
    engine: string,
    generated: string,
    stored: string,
    batches: string,
  ) =>
    `${scenario.padEnd(w)}  ${engine.padEnd(8)}  ${generated.padStart(9)}  ${stored.padStart(6)}  ${batches}`;
  const lines = counts.map((c) =>
    row(
      c.scenario,
      c.engine,
      String(c.generated),
      String(c.stored) + (c.late ? '*' : ''),
      (c.batches ?? []).join(' '),
    ),
  );
  const head = row('scenario', 'engine', 'generated', 'stored', 'batches (Origin:status)');
  const late = counts.some((c) => c.late)
    ? ['* stored with the next visit, from the retry queue']
    : [];
  console.log(['events generated vs stored', head, ...lines, ...late].join('\n'));
}

/**
 * An init script that keeps the snippet's batch timer (1 s) from firing, so every event of a page
 * leaves with the page, as it would when the visitor leaves within a second, however slow the
 * machine running the test. Shorter timers (the 100 ms route settle) run as usual.
 */
export function holdBatchTimer(): void {
  const set = window.setTimeout;
  // A held timer is still a real one (its handle truthy), that runs nothing: the snippet then
  // arms it once per batch, as with a real timer, rather than calling this wrapper on every event.
  window.setTimeout = ((f: TimerHandler, ms?: number, ...args: unknown[]) =>
    ms !== undefined && ms >= 1000 ? set(() => {}, ms) : set(f, ms, ...args)) as typeof setTimeout;
}

/** The Origin headers of the batches whose body holds `tag` (a page URL), in arrival order. */
export const originsOfBatches = (proxy: ShopProxy, tag: string) =>
  proxy.exchanges
    .filter((x) => x.path === '/v1/collect' && x.body.includes(tag))
    .map((x) => `${x.origin}:${x.status}`);
