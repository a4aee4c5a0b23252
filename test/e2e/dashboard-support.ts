/**
 * Dashboard browser-test support (Chromium, playwright-core): build the client files, sign in
 * through the real form, run axe-core in the page, and save screenshots as test artifacts under
 * test-results/dashboard/ (gitignored).
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { expect } from 'vitest';
import { seedAudience } from '../../collector/cli/seed.ts';
import { type ConfigFile, parseConfig, type SiteConfig } from '../../collector/config/config.ts';
import { type Collector, launchChromium, startCollector } from './support.ts';

const ROOT = join(import.meta.dirname, '../..');
export const ARTIFACTS = join(ROOT, 'test-results', 'dashboard');

/** Builds dist/dashboard/ (app.js, app.css) from the current sources: a lone test run sees edits. */
export function buildDashboardAssets(): void {
  execFileSync(process.execPath, ['build.mjs', '--dashboard'], { cwd: ROOT, stdio: 'ignore' });
}

/** Signs in with `key` on the form at `base` (the collector's URL) and waits for the overview. */
export async function signInPage(page: Page, base: string, key: string): Promise<void> {
  await page.goto(`${base}/dashboard/login`);
  await page.fill('#key', key);
  await Promise.all([page.waitForNavigation(), page.click('button[type="submit"]')]);
  if (page.url() !== `${base}/dashboard/`) {
    const text = (await page.textContent('body'))?.trim() ?? '';
    throw new Error(`sign-in failed at ${page.url()}: ${text.slice(0, 300)}`);
  }
}

export interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  nodes: string[];
}

const axeSource = () =>
  readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

/** axe-core's serious and critical violations of the page as it is now (WCAG 2 A/AA rules). */
export async function seriousViolations(page: Page): Promise<AxeViolation[]> {
  // Evaluated, not added as a <script>: the dashboard's CSP allows its own scripts only.
  await page.evaluate(axeSource());
  return page.evaluate(async () => {
    const axe = (
      window as unknown as {
        axe: {
          run(o: unknown): Promise<{
            violations: {
              id: string;
              impact: string | null;
              help: string;
              nodes: { target: string[] }[];
            }[];
          }>;
        };
      }
    ).axe;
    const r = await axe.run({
      runOnly: {
        type: 'tag',
        values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice'],
      },
    });
    return r.violations
      .filter((v) => v.impact === 'serious' || v.impact === 'critical')
      .map((v) => ({
        id: v.id,
        impact: v.impact,
        help: v.help,
        nodes: v.nodes.map((n) => n.target.join(' ')),
      }));
  });
}

/** Saves a full-page screenshot `name-WIDTH.png` at `width` px wide under test-results/dashboard/. */
export async function screenshotAt(page: Page, name: string, width: number): Promise<string> {
  mkdirSync(ARTIFACTS, { recursive: true });
  await page.setViewportSize({ width, height: width > 600 ? 900 : 844 });
  // Charts redraw on resize (ResizeObserver, then uPlot's own frame): let two frames pass.
  await page.evaluate(
    () => new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(done))),
  );
  const file = join(ARTIFACTS, `${name}-${width}.png`);
  await page.screenshot({ path: file, fullPage: true });
  return file;
}

/**
 * axe at 1280 and 390 px with a screenshot at each, and no sideways scroll on the phone; the
 * viewport is 1280 px wide again after. Fails the calling test with what it found.
 */
export async function checkPage(page: Page, name: string): Promise<void> {
  for (const width of [1280, 390]) {
    await screenshotAt(page, name, width);
    const violations = await seriousViolations(page);
    expect(violations, `${name} at ${width}px: ${JSON.stringify(violations)}`).toEqual([]);
    const { scroll, client } = await page.evaluate(() => ({
      scroll: document.documentElement.scrollWidth,
      client: document.documentElement.clientWidth,
    }));
    expect(scroll, `${name} at ${width}px scrolls sideways`).toBeLessThanOrEqual(client);
  }
  await page.setViewportSize({ width: 1280, height: 900 });
}

/**
 * A 1280 px page of `browser` signed in to the dashboard at `base` with `key`, and the errors it
 * raises: script errors, and what the Content-Security-Policy blocks (only a console message).
 */
export async function dashboardPage(
  browser: Browser,
  base: string,
  key: string,
): Promise<{ page: Page; errors: string[] }> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('console', (m) => {
    if (/Content Security Policy|Refused to/i.test(m.text())) errors.push(m.text());
  });
  await signInPage(page, base, key);
  return { page, errors };
}

export interface SeededDashboard {
  collector: Collector;
  browser: Browser;
  page: Page;
  errors: string[];
}

/**
 * The dashboard tests' shop: a collector on `file`, its `shop` site seeded by `seedAudience` (the
 * code of `microseg seed`) up to now, `prepare` run on it, then Chromium signed in with `key`.
 */
export async function seededDashboard(
  file: ConfigFile,
  key: string,
  seed: { visitors: number; days: number; seed: number },
  prepare?: (collector: Collector, site: SiteConfig, now: number) => Promise<void>,
): Promise<SeededDashboard> {
  const collector = await startCollector(file);
  try {
    const site = parseConfig(file).sites.get('shop');
    if (!site) throw new Error('no shop in the config');
    const now = Date.now();
    await seedAudience(collector.storage, site, { ...seed, now });
    await prepare?.(collector, site, now);
    const browser = await launchChromium();
    return { collector, browser, ...(await dashboardPage(browser, collector.url, key)) };
  } catch (err) {
    await collector.stop(); // the caller's afterAll never saw it
    throw err;
  }
}
