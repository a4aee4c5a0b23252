// Loads the built snippet (dist/ms.js) into a fresh happy-dom window per test, through a real
// <script src> tag so document.currentScript is the tag, as in a browser. The collector app serves
// the scripts (ms.js, and ms.rules.js when the page loads it), built from the current source. fetch and sendBeacon are
// the network boundary: both are recorded and delivered to a REAL collector app (createApp over a
// temp SQLite file, through app.request()), so a batch the collector would refuse fails the test.
// A test may put a responder in front of it to fail requests (503, network error) or hold them.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Window } from 'happy-dom';
import type { Hono } from 'hono';
import { freshBuild } from '../build.ts';
import { tempDir } from '../helpers.ts';
import { createApp } from '../../collector/http/app.ts';
import { parseConfig } from '../../collector/config/config.ts';
import { keyRing } from '../../collector/identity/keys.ts';
import { issueIdentityToken } from '../../collector/identity/token.ts';
import { SNIPPET_FILES, snippetAsset } from '../../collector/http/snippet-asset.ts';
import type { Storage } from '../../collector/storage/contract.ts';
import { openStorage } from '../../collector/storage/open.ts';
import { sqliteHandle } from '../../collector/storage/sqlite/index.ts';
import {
  batchSchema,
  describe as problemOf,
  validateEvents,
} from '../../collector/ingest/validate.ts';
import { expandCompact } from '../../collector/ingest/wire-compact.ts';
import type { CollectBatch, CollectResponse, CompactBatch } from '../../shared/wire.ts';
import { type BrowserSegment, pageFacts, type Segment } from '../../shared/segment.ts';

const root = join(dirname(fileURLToPath(import.meta.url)), '../..');
export const COLLECTOR = 'http://collector.test';
export const SCRIPT_SRC = `${COLLECTOR}/ms.js`;
/** Where ms.js finds its rules script: beside itself. */
export const RULES_SRC = `${COLLECTOR}/ms.rules.js`;
/** The origin of the pages the tests open (unless `url` says otherwise). */
export const PAGE_ORIGIN = 'https://shop.test';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

type Scripts = Record<(typeof SNIPPET_FILES)[number], string>;

/** The scripts under test (ms.js, ms.rules.js), rebuilt when missing or stale (see test/build.ts). */
async function code(): Promise<Scripts> {
  await freshBuild('snippet');
  return Object.fromEntries(
    SNIPPET_FILES.map((f) => [f, readFileSync(join(root, 'dist', f), 'utf8')]),
  ) as Scripts;
}

let cached: Promise<Scripts> | undefined;
const builtScripts = () => (cached ??= code());
/** The built ms.js. */
export const snippetCode = async () => (await builtScripts())['ms.js'];

/** Sites of the test collector: the pages' origin may send, automation (happy-dom) counts. */
const SITES = { origins: [PAGE_ORIGIN], allowAutomation: true };
/** One key ring for every test collector, so `token()` makes tokens any of them accepts. */
const KEYS = keyRing(['harness-secret-of-at-least-32-characters']);

export interface Collector {
  app: Hono;
  storage: Storage;
  /** Added to the real clock: pages of the test move it with `advance()`. */
  offset: number;
  /** Every event the collector stored, in arrival order. */
  events: () => Record<string, any>[];
  close: () => Promise<void>;
}

let collector_: Collector | undefined;
let starting: Promise<Collector> | undefined;

/**
 * The test's collector, shared by the pages a test opens: started by the first `open()` (opening
 * storage is asynchronous), closed by closeAll.
 */
export function collector(): Collector {
  if (!collector_) throw new Error('no collector yet: open() a page first');
  return collector_;
}

async function started(): Promise<Collector> {
  const built = await builtScripts();
  starting ??= startCollector(built);
  return starting;
}

async function startCollector(built: Scripts): Promise<Collector> {
  const tmp = tempDir();
  const storage = await openStorage(join(tmp.dir, 'snippet.db'));
  // The rows as stored, synchronously (tests read them between page steps): no storage read lists events.
  const sqlite = sqliteHandle(storage);
  const c: Collector = {
    storage,
    offset: 0,
    app: createApp({
      storage,
      config: parseConfig({ sites: { demo: SITES, shop: SITES } }),
      now: () => Date.now() + c.offset,
      snippets: {
        'ms.js': snippetAsset(built['ms.js']),
        'ms.rules.js': snippetAsset(built['ms.rules.js']),
        'ms.cookie.js': snippetAsset(built['ms.cookie.js']),
      },
      keys: KEYS,
      demo: false,
    }),
    events: () =>
      sqlite.prepare('SELECT * FROM events ORDER BY rowid').all() as Record<string, any>[],
    close: async () => {
      await storage.close();
      tmp.cleanup();
    },
  };
  collector_ = c;
  return c;
}

/** A signed identity token for `contact` on site `demo`, as an email link or a backend makes one. */
export const token = (contact = 'c1'): string =>
  issueIdentityToken(KEYS, { site: 'demo', contact, exp: Date.now() + 86_400_000 });

export interface Sent {
  via: 'fetch' | 'beacon';
  url: string;
  init?: RequestInit;
  body: string;
  /** The status of the answer the page got (none: a network error, or a beacon). */
  status?: number;
  /** The collector's own answer, when the request reached it. */
  answer?: { status: number; body: any };
}

/**
 * Stands in front of the collector: `real()` delivers the request to it and resolves its answer
 * (a cross-origin answer without CORS rejects, as a browser's fetch does). A responder may answer
 * otherwise instead (a status, a rejection for a network error) or change the collector's answer.
 */
export type Responder = (
  url: string,
  init: RequestInit | undefined,
  real: () => Promise<Response>,
) => Response | Promise<Response>;

export interface OpenOptions {
  /** Page URL. */
  url?: string;
  /** Extra markup in <head> (before the snippet tag). */
  head?: string;
  body?: string;
  /** Attributes of the snippet's <script> tag. */
  attrs?: string;
  /** localStorage content before the script runs; `false` makes localStorage throw. */
  storage?: Record<string, string> | false;
  /** navigator.webdriver as the page sees it (happy-dom says true). */
  webdriver?: boolean;
  /** Other navigator properties as the page sees them (`doNotTrack`, `globalPrivacyControl`). */
  navigator?: Record<string, unknown>;
  /** In front of the collector; default: the collector answers. */
  respond?: Responder;
  /** What navigator.sendBeacon returns. */
  beaconResult?: boolean;
  /** Beacons are taken (`sendBeacon` says true) but never reach the collector: it is down, or the tab closed. */
  beaconLost?: boolean;
  /**
   * The Origin header of beacons; default the page's. Firefox sends `null` when the page's
   * Referrer-Policy hides the origin (`no-referrer`; `same-origin` to another origin).
   */
  beaconOrigin?: string;
  /** The collector may refuse a batch in this test (else a refusal fails it, see closeAll). */
  refusals?: boolean;
  referrer?: string;
  /** Wait for the script and the first batch. */
  wait?: boolean;
}

export interface Page {
  window: Window;
  document: Window['document'];
  sent: Sent[];
  /** The scripts the page requested from the collector (`SCRIPT_SRC`, `RULES_SRC`), in order. */
  scripts: string[];
  /** Every collect batch, parsed and in the long form (as the collector reads it), in send order. */
  batches: () => (CollectBatch & { via: Sent['via'] })[];
  events: () => CollectBatch['events'];
  /** Collect requests the collector refused (4xx but 429), or would have, had a responder let them through. */
  refused: { body: string; problem: string }[];
  /** Advances the page's clock by `ms` (Date.now only; timers keep running in real time). */
  advance: (ms: number) => void;
  /** Runs pending timers and requests. */
  settle: () => Promise<void>;
  close: () => Promise<void>;
  /** Evaluates code in the page. */
  run: <T = unknown>(js: string) => T;
}

const isCollect = (url: string) => new URL(url).pathname === '/v1/collect';

/**
 * The collector, with the segment of its answers replaced: `collect` in the answer to a batch with
 * events, `get` in the answer to one without (`segment()` asking). The batches still reach the
 * collector, so they are still checked. For tests of what the page does with a given segment.
 */
export const answering =
  (collect: Segment | null, get: Segment | null = collect): Responder =>
  async (url, init, real) => {
    const res = await real();
    if (!res.ok || !isCollect(url)) return res;
    const asking = (JSON.parse(String(init?.body)) as CompactBatch).e.length === 0;
    const s = asking ? get : collect;
    return Response.json({
      ...((await res.json()) as CollectResponse),
      segment: s && browserView(s),
    });
  };

const open_: { page: Page; refusals: boolean }[] = [];

/** Why the collector would refuse a collect body, or undefined: for batches a responder kept from it. */
function problem(body: string): string | undefined {
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    return 'not JSON';
  }
  const parsed = batchSchema.safeParse(expandCompact(json, Date.now() + collector().offset));
  if (!parsed.success) return problemOf(parsed.error);
  const { refused } = validateEvents(parsed.data.events, Date.now() + collector().offset);
  return refused.length
    ? refused.map((r) => `events.${r.index}: ${r.message}`).join('; ')
    : undefined;
}

export async function open(o: OpenOptions = {}): Promise<Page> {
  const url = o.url ?? `${PAGE_ORIGIN}/products/cameras`;
  const origin = new URL(url).origin;
  const c = await started();
  const scripts: string[] = [];
  const window = new Window({
    url,
    settings: {
      enableJavaScriptEvaluation: true,
      suppressInsecureJavaScriptEnvironmentWarning: true,
      fetch: {
        interceptor: {
          // The collector app serves the snippet's scripts (`<script src>`, and the one ms.js adds);
          // the page's own fetch is replaced below.
          beforeAsyncRequest: async ({ request, window: w }) => {
            const u = new URL(request.url);
            if (u.origin !== COLLECTOR || !/^\/ms(\.rules|\.cookie)?\.js$/.test(u.pathname))
              return undefined;
            scripts.push(request.url);
            const res = await c.app.request(u.pathname);
            return new w.Response(await res.text(), {
              status: res.status,
              headers: { 'content-type': res.headers.get('content-type') ?? '' },
            });
          },
        },
      },
    },
  });
  const w = window as any;
  const sent: Sent[] = [];
  const refused: Page['refused'] = [];
  const inflight = new Set<Promise<unknown>>();
  const track = <T>(p: Promise<T>): Promise<T> => {
    inflight.add(p);
    const done = () => inflight.delete(p);
    p.then(done, done);
    return p;
  };

  /** The request as the browser sends it to the collector, and the collector's answer. */
  const deliver = async (s: Sent, from: string): Promise<Response> => {
    const cross = from !== new URL(s.url).origin;
    const headers: Record<string, string> = cross ? { origin: from } : {};
    const method = s.init?.method ?? (s.via === 'beacon' ? 'POST' : 'GET');
    const res = await c.app.request(s.url, { method, body: s.body || undefined, headers });
    const text = await res.text();
    s.answer = { status: res.status, body: text ? JSON.parse(text) : null };
    if (isCollect(s.url) && res.status >= 400 && res.status < 500 && res.status !== 429) {
      refused.push({ body: s.body, problem: `${res.status} ${text}` });
    }
    // A cross-origin answer the page may not read is a network error to it.
    const allowed = res.headers.get('access-control-allow-origin');
    if (cross && allowed !== from && allowed !== '*') throw new TypeError('Failed to fetch (CORS)');
    const empty = res.status === 204 || res.status === 304;
    return new Response(empty ? null : text, { status: res.status, headers: res.headers });
  };

  const respond: Responder = o.respond ?? ((_url, _init, real) => real());
  w.fetch = (u: string, init?: RequestInit) => {
    const s: Sent = { via: 'fetch', url: String(u), init, body: String(init?.body ?? '') };
    sent.push(s);
    let reached = false;
    const real = () => {
      reached = true;
      return deliver(s, origin);
    };
    return track(
      (async () => {
        try {
          const res = await respond(s.url, init, real);
          s.status = res.status;
          return res;
        } finally {
          const why = !reached && isCollect(s.url) ? problem(s.body) : undefined;
          if (why) refused.push({ body: s.body, problem: why });
        }
      })(),
    );
  };
  w.navigator.sendBeacon = (u: string, body: string) => {
    if (o.beaconResult === false) return false;
    const s: Sent = { via: 'beacon', url: String(u), body: String(body) };
    sent.push(s);
    // The page never learns a beacon's fate (nor that it was lost, with `beaconLost`).
    if (!o.beaconLost) track(deliver(s, o.beaconOrigin ?? origin).catch(() => {}));
    return true;
  };
  if (o.webdriver !== undefined)
    Object.defineProperty(w.navigator, 'webdriver', { value: o.webdriver, configurable: true });
  for (const [k, value] of Object.entries(o.navigator ?? {}))
    Object.defineProperty(w.navigator, k, { value, configurable: true });
  if (o.storage === false) {
    Object.defineProperty(w, 'localStorage', {
      get() {
        throw new w.DOMException('denied', 'SecurityError');
      },
      configurable: true,
    });
  } else {
    for (const [k, v] of Object.entries(o.storage ?? {})) w.localStorage.setItem(k, v);
  }
  if (o.referrer !== undefined)
    Object.defineProperty(w.document, 'referrer', { value: o.referrer, configurable: true });
  let offset = 0;
  const realNow = Date.now;
  w.Date.now = () => realNow() + offset;

  const attrs = o.attrs ?? 'data-site="demo"';
  window.document.write(
    `<!doctype html><html><head>${o.head ?? ''}<script defer src="${SCRIPT_SRC}" ${attrs}></script></head><body>${o.body ?? ''}</body></html>`,
  );
  const page: Page = {
    window,
    document: window.document,
    sent,
    scripts,
    refused,
    batches: () =>
      sent
        .filter((s) => isCollect(s.url))
        .map((s) => ({
          ...(expandCompact(JSON.parse(s.body), Date.now() + c.offset) as CollectBatch),
          via: s.via,
        })),
    events: () => page.batches().flatMap((b) => b.events),
    advance: (ms) => {
      offset += ms;
      c.offset = offset;
    },
    settle: async () => {
      await window.happyDOM.waitUntilComplete();
      while (inflight.size > 0) {
        await Promise.allSettled([...inflight]);
        await sleep(0);
        await window.happyDOM.waitUntilComplete();
      }
      await sleep(0);
    },
    close: () => window.happyDOM.close(),
    run: (src) => w.eval(src),
  };
  open_.push({ page, refusals: !!o.refusals });
  if (o.wait !== false) await page.settle();
  return page;
}

/**
 * Closes every window a test opened and the test's collector (call in afterEach). Fails the test
 * when the collector refused a batch of a page that did not expect it: the snippet must never
 * send what the collector refuses.
 */
export async function closeAll(): Promise<void> {
  const pages = open_.splice(0);
  await Promise.all(pages.map(({ page }) => page.settle().catch(() => {})));
  await Promise.all(pages.map(({ page }) => page.close()));
  const c = starting && (await starting);
  starting = undefined;
  collector_ = undefined;
  await c?.close();
  const refused = pages.flatMap(({ page, refusals }) => (refusals ? [] : page.refused));
  if (refused.length > 0) {
    const list = refused.map((r) => `${r.problem} ← ${r.body}`).join('\n');
    throw new Error(`the collector refused ${refused.length} batch(es):\n${list}`);
  }
}

/** The two-line stub, read from the docs so the documented one is the one tested. */
export function stubFromDocs(): string {
  const doc = readFileSync(join(root, 'docs/snippet.md'), 'utf8');
  const m = doc.match(/<!-- stub -->\s*```html\n([\s\S]*?)```/);
  if (!m) throw new Error('docs/snippet.md has no <!-- stub --> block');
  return m[1]!;
}

/**
 * Ids the snippet makes: four random 32-bit numbers in decimal, joined by `_`. A stored record may
 * hold other ids (tests set `v1`).
 */
export const ID = /^\d{1,10}(_\d{1,10}){3}$/;

/** localStorage content holding the snippet's record (`ms`: v visitor, s session, g segment, q retry, o opt-out). */
export const stored = (rec: Record<string, unknown>): Record<string, string> => {
  // A cached segment is kept as the collector sent it: with its page facts.
  const g = rec.g as [Segment, number] | undefined;
  return { ms: JSON.stringify(g ? { ...rec, g: [browserView(g[0]), g[1]] } : rec) };
};

/** A segment as the collector answers a browser (`forBrowser`): with its page facts. */
export const browserView = (s: Segment): BrowserSegment => ({ ...s, ...pageFacts(s) });

/** The snippet's stored record, parsed ({} when there is none). */
export const record = (p: Page): Record<string, any> =>
  JSON.parse(p.window.localStorage.getItem('ms') ?? '{}');

export { sleep };
