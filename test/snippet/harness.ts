// Loads the built snippet (dist/ms.js) into a fresh happy-dom window per test, through a real
// <script src> tag so document.currentScript is the tag, as in a browser. fetch and sendBeacon are
// the network boundary: both are replaced by recorders (real network is the Chromium suite's job).
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Window } from 'happy-dom';
import { freshBuild } from '../build.ts';
import type { CollectBatch, CollectResponse } from '../../shared/wire.ts';
import type { Segment } from '../../shared/segment.ts';

const root = join(dirname(fileURLToPath(import.meta.url)), '../..');
const bundle = join(root, 'dist/ms.js');
export const COLLECTOR = 'http://collector.test';
export const SCRIPT_SRC = `${COLLECTOR}/ms.js`;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The bundle under test, rebuilt when missing or stale (see test/build.ts). */
async function code(): Promise<string> {
  await freshBuild('snippet');
  return readFileSync(bundle, 'utf8');
}

let cached: Promise<string> | undefined;
export const snippetCode = () => (cached ??= code());

export interface Sent {
  via: 'fetch' | 'beacon';
  url: string;
  init?: RequestInit;
  body: string;
}

export type Responder = (url: string, init?: RequestInit) => Response | Promise<Response>;

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
  /** Answers of the fake collector; default: collect → accepted, no segment; anything else → 404. */
  respond?: Responder;
  /** What navigator.sendBeacon returns. */
  beaconResult?: boolean;
  referrer?: string;
  /** Wait for the script and the first batch. */
  wait?: boolean;
}

export interface Page {
  window: Window;
  document: Window['document'];
  sent: Sent[];
  /** Every collect batch, parsed, in send order. */
  batches: () => (CollectBatch & { via: Sent['via'] })[];
  events: () => CollectBatch['events'];
  /** Advances the page's clock by `ms` (Date.now only; timers keep running in real time). */
  advance: (ms: number) => void;
  /** Runs pending timers and requests. */
  settle: () => Promise<void>;
  close: () => Promise<void>;
  /** Evaluates code in the page. */
  run: <T = unknown>(js: string) => T;
}

export const collectOk = (segment: Segment | null = null): CollectResponse => ({
  accepted: 1,
  duplicates: 0,
  refused: [],
  segment,
});

const open_: Page[] = [];

export async function open(o: OpenOptions = {}): Promise<Page> {
  const js = await snippetCode();
  const window = new Window({
    url: o.url ?? 'https://shop.test/products/cameras',
    settings: {
      enableJavaScriptEvaluation: true,
      suppressInsecureJavaScriptEnvironmentWarning: true,
      fetch: {
        interceptor: {
          // Serves the snippet to the page's <script src>; the page's own fetch is replaced below.
          beforeAsyncRequest: async ({ request, window: w }) =>
            request.url === SCRIPT_SRC ? new w.Response(js, { headers: { 'content-type': 'text/javascript' } }) : undefined,
        },
      },
    },
  });
  const w = window as any;
  const sent: Sent[] = [];
  const respond: Responder =
    o.respond ??
    ((url) =>
      url.startsWith(`${COLLECTOR}/v1/collect`)
        ? new w.Response(JSON.stringify(collectOk()))
        : new w.Response('{"error":"not_found","message":"no"}', { status: 404 }));
  w.fetch = async (url: string, init?: RequestInit) => {
    sent.push({ via: 'fetch', url: String(url), init, body: String(init?.body ?? '') });
    return respond(String(url), init);
  };
  w.navigator.sendBeacon = (url: string, body: string) => {
    if (o.beaconResult === false) return false;
    sent.push({ via: 'beacon', url: String(url), body: String(body) });
    return true;
  };
  if (o.webdriver !== undefined) Object.defineProperty(w.navigator, 'webdriver', { value: o.webdriver, configurable: true });
  for (const [k, value] of Object.entries(o.navigator ?? {})) Object.defineProperty(w.navigator, k, { value, configurable: true });
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
  if (o.referrer !== undefined) Object.defineProperty(w.document, 'referrer', { value: o.referrer, configurable: true });
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
    batches: () =>
      sent
        .filter((s) => new URL(s.url).pathname === '/v1/collect')
        .map((s) => ({ ...(JSON.parse(s.body) as CollectBatch), via: s.via })),
    events: () => page.batches().flatMap((b) => b.events),
    advance: (ms) => {
      offset += ms;
    },
    settle: async () => {
      await window.happyDOM.waitUntilComplete();
      await sleep(0);
    },
    close: () => window.happyDOM.close(),
    run: (src) => w.eval(src),
  };
  open_.push(page);
  if (o.wait !== false) await page.settle();
  return page;
}

/** Closes every window a test opened (call in afterEach). */
export async function closeAll(): Promise<void> {
  await Promise.all(open_.splice(0).map((p) => p.close()));
}

/** The two-line stub, read from the docs so the documented one is the one tested. */
export function stubFromDocs(): string {
  const doc = readFileSync(join(root, 'docs/snippet.md'), 'utf8');
  const m = doc.match(/<!-- stub -->\s*```html\n([\s\S]*?)```/);
  if (!m) throw new Error('docs/snippet.md has no <!-- stub --> block');
  return m[1]!;
}

/**
 * Ids the snippet makes: 24 URL-safe characters (18 random bytes in base64, `+` and `/` as `_`).
 * A stored record may hold other ids (tests set `v1`).
 */
export const ID = /^[A-Za-z0-9_]{24}$/;

/** localStorage content holding the snippet's record (`ms`: v visitor, s session, g segment, b retry, o opt-out). */
export const stored = (rec: Record<string, unknown>): Record<string, string> => ({ ms: JSON.stringify(rec) });

/** The snippet's stored record, parsed ({} when there is none). */
export const record = (p: Page): Record<string, any> => JSON.parse(p.window.localStorage.getItem('ms') ?? '{}');

export { sleep };
