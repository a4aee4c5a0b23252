/**
 * What the snippet costs a page as it starts, measured in Chromium with the Performance API.
 *
 * The test page installs the snippet as the README says (`<script defer src=".../ms.js">`) between
 * two tiny deferred scripts: deferred scripts run in document order once parsing ends, so
 * `performance.mark('ms:before')` and `performance.measure('ms:start', 'ms:before')` bracket
 * exactly the snippet's evaluation (compile, run its start: read the tag, install the API, build
 * and queue the first page view, send the first batch). A control page with nothing between the
 * marks gives the cost of the bracket itself.
 *  - cold: each load in a fresh browser context (empty HTTP and code cache), a first visit;
 *  - warm: repeated loads in one context (cached script, V8 code cache), a returning visitor.
 * The page's origin also answers `POST /v1/collect` with a fixed segment, so the snippet's round
 * trip completes as in production; that answer arrives after the measured start.
 */
import { createServer } from 'node:http';
import { gzipSync } from 'node:zlib';
import { quantile } from './stats.mjs';

export const CHROMIUM = '/usr/lib/chromium/chromium';
const FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** Sizes of the snippet's code (a Buffer, read once at the start of a run). */
export function snippetSizes(code) {
  return { bytes: code.length, gzip: gzipSync(code, { level: 9 }).length };
}

const page = (withSnippet) => `<!doctype html><html><head><meta charset="utf-8"><title>bench</title>
<meta name="microseg:category" content="cameras">
<script defer src="/before.js"></script>
${withSnippet ? '<script defer src="/ms.js" data-site="demo"></script>' : ''}
<script defer src="/after.js"></script>
</head><body><h1>A product page</h1><a href="/cameras/" data-ms-category="cameras">cameras</a></body></html>`;

const SEGMENT = JSON.stringify({
  accepted: 1,
  duplicates: 0,
  refused: [],
  segment: {
    site: 'demo',
    visitor: 'x',
    known: false,
    segment: 'newbie:cameras:active',
    lifecycle: 'newbie',
    category: 'cameras',
    engagement: 'active',
    affinity: { cameras: 1 },
    cooldown: false,
    rfm: null,
    intent: 'least_likely',
    segments: [],
    updated: 0,
  },
});

function pageServer(snippetCode) {
  const cacheable = { 'cache-control': 'public, max-age=86400', 'content-type': 'text/javascript' };
  return createServer((req, res) => {
    const path = req.url.split('?')[0];
    if (path === '/ms.js') return res.writeHead(200, cacheable).end(snippetCode);
    if (path === '/before.js')
      return res.writeHead(200, cacheable).end("performance.mark('ms:before')");
    if (path === '/after.js')
      return res.writeHead(200, cacheable).end("performance.measure('ms:start','ms:before')");
    if (path === '/v1/collect') {
      req.resume();
      return req.on('end', () =>
        res.writeHead(200, { 'content-type': 'application/json' }).end(SEGMENT),
      );
    }
    if (path === '/with' || path === '/without')
      return res.writeHead(200, { 'content-type': 'text/html' }).end(page(path === '/with'));
    res.writeHead(404).end();
  });
}

const stats = (xs) => {
  const s = Float64Array.from(xs).sort();
  return { n: s.length, p50: quantile(s, 0.5), p95: quantile(s, 0.95), min: s[0] };
};

/** Loads the pages `loads` times each way with `code` as /ms.js; answers medians and p95 in ms. */
export async function measureSnippetStart(code, loads, executablePath = CHROMIUM) {
  const { chromium } = await import('playwright-core');
  const server = pageServer(code);
  await new Promise((ok) => server.listen(0, '127.0.0.1', ok));
  const base = `http://127.0.0.1:${server.address().port}`;
  const browser = await chromium.launch({ executablePath, args: FLAGS, headless: true });
  try {
    const measure = async (p, path) => {
      await p.goto(base + path, { waitUntil: 'load' });
      return p.evaluate(() => performance.getEntriesByName('ms:start')[0]?.duration ?? NaN);
    };
    const cold = [];
    const coldControl = [];
    for (let i = 0; i < Math.ceil(loads / 3); i++) {
      for (const [path, into] of [
        ['/with', cold],
        ['/without', coldControl],
      ]) {
        const ctx = await browser.newContext();
        into.push(await measure(await ctx.newPage(), path));
        await ctx.close();
      }
    }
    const ctx = await browser.newContext();
    const p = await ctx.newPage();
    await measure(p, '/with'); // fills the HTTP and code caches
    await measure(p, '/with');
    const warm = [];
    const control = [];
    for (let i = 0; i < loads; i++) {
      warm.push(await measure(p, '/with'));
      control.push(await measure(p, '/without'));
    }
    await ctx.close();
    return {
      loads,
      cold: stats(cold),
      coldControl: stats(coldControl),
      warm: stats(warm),
      control: stats(control),
    };
  } finally {
    await browser.close();
    server.close();
  }
}
