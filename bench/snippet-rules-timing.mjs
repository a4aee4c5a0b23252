// First-visit and returning-visit timing of the demo shop's rules in real Chromium against local
// collectors: the one-script ms.js (before) and ms.js + ms.rules.js on demand (after), visits
// interleaved (before, after, before, …) so that the machine's load falls on both alike.
// Usage: node bench/snippet-rules-timing.mjs BEFORE_TREE AFTER_TREE [VISITS] [LATENCY_MS], each tree a
// checkout with `node build.mjs` run (its collector serves its own scripts). docs/snippet.md
// (anti-flicker) has the figures it gave.
import { spawn } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { existsSync, mkdtempSync } from 'node:fs';
import { chromium } from 'playwright-core';

const [before, after, visits = '20', latency = '0'] = process.argv.slice(2);
const servers = [];
process.on('exit', () => {
  for (const s of servers) s.kill();
});
async function serve(tree, port) {
  const db = join(mkdtempSync(join(tmpdir(), 'ms-measure-')), 'm.db');
  const s = spawn(
    process.execPath,
    [join(tree, 'dist/collector.mjs'), 'serve', '--port', port, '--host', '127.0.0.1', '--db', db],
    { stdio: ['ignore', 'pipe', 'ignore'] },
  );
  servers.push(s);
  await new Promise((r) => s.stdout.on('data', (d) => String(d).includes('collector on') && r()));
  return `http://127.0.0.1:${port}/demo/`;
}
const trees = { before: await serve(before, '18911'), after: await serve(after, '18912') };
const executablePath = ['/usr/lib/chromium/chromium', '/usr/bin/chromium'].find((p) =>
  existsSync(p),
);
const browser = await chromium.launch({ executablePath, args: ['--no-sandbox'] });
// In the page, from its start: when the segment's attributes appear, and when the rules are applied
// (the default banner decided, ms-pending gone, the segment known).
const init = () => {
  const t = {};
  window.__t = t;
  new MutationObserver(() => {
    const h = document.documentElement;
    if (!h) return;
    if (t.segment == null && h.dataset.msSegment) t.segment = performance.now();
    if (
      t.rules == null &&
      h.dataset.msSegment &&
      !h.classList.contains('ms-pending') &&
      document.querySelector('[data-banner="default"]')
    )
      t.rules = performance.now();
  }).observe(document, { attributes: true, subtree: true, childList: true });
};
const rows = { before: [], after: [] };
for (let i = 0; i < +visits; i++) {
  for (const [name, url] of Object.entries(trees)) {
    const context = await browser.newContext();
    const page = await context.newPage();
    if (+latency) {
      const cdp = await context.newCDPSession(page);
      await cdp.send('Network.enable');
      await cdp.send('Network.emulateNetworkConditions', {
        offline: false,
        latency: +latency,
        downloadThroughput: -1,
        uploadThroughput: -1,
      });
    }
    await page.addInitScript(init);
    const visit = async () => {
      await page.goto(`${url}?i=${i}`);
      await page.waitForFunction(() => window.__t.rules != null, null, { timeout: 10000 });
      return page.evaluate(() => window.__t);
    };
    const first = await visit();
    await page.waitForTimeout(300);
    const again = await visit();
    rows[name].push({ first, again });
    await context.close();
  }
}
await browser.close();
const q = (xs, p) => {
  const s = [...xs].sort((a, b) => a - b);
  return +s[Math.min(s.length - 1, Math.floor(s.length * p))].toFixed(1);
};
for (const [name, r] of Object.entries(rows)) {
  const firstRules = r.map((x) => x.first.rules);
  const firstGap = r.map((x) => x.first.rules - x.first.segment);
  const againRules = r.map((x) => x.again.rules);
  const againGap = r.map((x) => x.again.rules - x.again.segment);
  console.log(
    JSON.stringify({
      name,
      latency: +latency,
      visits: r.length,
      firstRulesApplied: { median: q(firstRules, 0.5), p90: q(firstRules, 0.9) },
      firstAfterSegment: {
        median: q(firstGap, 0.5),
        p90: q(firstGap, 0.9),
        max: q(firstGap, 1),
        late: firstGap.filter((g) => g > 0.5).length,
      },
      againRulesApplied: { median: q(againRules, 0.5), p90: q(againRules, 0.9) },
      againAfterSegment: { median: q(againGap, 0.5), p90: q(againGap, 0.9), max: q(againGap, 1) },
    }),
  );
}
process.exit(0);
