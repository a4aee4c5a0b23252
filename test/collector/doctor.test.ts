/**
 * `microseg doctor`: what the collector will do with a page, from the same config and environment
 * `serve` reads; exit code 1 on a problem.
 */
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { main } from '../../collector/cli/cli.ts';
import { ensureBuilt, stopped } from '../collector-process.ts';
import { tempDir } from '../helpers.ts';

const tmp = tempDir();
const configFile = join(tmp.dir, 'sites.json');
writeFileSync(
  configFile,
  JSON.stringify({
    sites: {
      shop: {
        origins: ['http://localhost:3000', 'https://shop.example'],
        categories: [
          { path: '/cameras/*', category: 'cameras' },
          { path: '/*', category: 'other' },
          { path: '/women/*', category: 'womens_apparel' },
        ],
        apiKeys: ['a-long-enough-api-key-1234'],
      },
      lab: { allowAutomation: true, allowLocalhost: true },
    },
  }),
);
const saved = { ...process.env };
beforeEach(() => {
  for (const k of Object.keys(process.env))
    if (k.startsWith('MICROSEG_') || k === 'PORT' || k === 'HOST' || k === 'LOG_LEVEL')
      delete process.env[k];
  process.env.MICROSEG_DB = join(tmp.dir, 'data', 'microseg.db');
  process.env.MICROSEG_CONFIG = configFile;
  process.env.MICROSEG_PUBLIC_URL = 'https://collect.shop.example';
});
afterEach(() => {
  process.env = { ...saved };
});
afterAll(() => tmp.cleanup());

async function doctor(...args: string[]) {
  const out: string[] = [];
  const log = vi.spyOn(console, 'log').mockImplementation((s: unknown) => void out.push(String(s)));
  const error = vi
    .spyOn(console, 'error')
    .mockImplementation((s: unknown) => void out.push(String(s)));
  try {
    return { code: await main(['doctor', ...args]), out: out.join('\n') };
  } finally {
    log.mockRestore();
    error.mockRestore();
  }
}

describe('microseg doctor', () => {
  it('an allowed page: why, which rule gives its category, the automation policy; exit 0', async () => {
    const r = await doctor('--site', 'shop', '--url', 'https://shop.example/cameras');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(
      /ok +origin +https:\/\/shop\.example may send events .*listed in sites\.shop\.origins/,
    );
    expect(r.out).toMatch(
      /ok +category +path \/cameras → "cameras" \(rule 1 of 3: "\/cameras\/\*"/,
    );
    expect(r.out).toMatch(/automation .*stored flagged \(bot\) and kept out of segments/);
    // Config problems that do not stop it: the catch-all shadows the rule after it.
    expect(r.out).toMatch(
      /warn +categories +rule 2 \("\/\*"\) matches every path: the 1 rule\(s\) after it never match/,
    );
    expect(r.out).toContain('site "shop": 0 problem(s), 1 warning(s)');
  });

  it('a refused origin: the reason and the field to add it to; exit 1', async () => {
    const r = await doctor('--site', 'shop', '--url', 'http://127.0.0.1:3000/women/x');
    expect(r.code).toBe(1);
    expect(r.out).toMatch(
      /problem +origin +origin http:\/\/127\.0\.0\.1:3000 is not allowed for site "shop" \(it lists http:\/\/localhost:3000/,
    );
    expect(r.out).toContain('add "http://127.0.0.1:3000" to sites.shop.origins');
    // First match wins: "/*" comes before "/women/*".
    expect(r.out).toContain('path /women/x → "other" (rule 2 of 3');
  });

  it("--origin overrides the URL's; allowLocalhost and allowAutomation are explained", async () => {
    const r = await doctor(
      '--site',
      'lab',
      '--url',
      'https://lab.example/',
      '--origin',
      'http://localhost:5173',
    );
    expect(r.code).toBe(0);
    expect(r.out).toContain('a localhost page, and sites.lab.allowLocalhost is true');
    expect(r.out).toContain('allowAutomation is true');
    expect(r.out).toMatch(/warn +api keys +no sites\.lab\.apiKeys and no MICROSEG_API_KEY/);
    expect(r.out).toMatch(/ok +category +no URL rules/);
  });

  it('an unknown site, a bad variable or a bad config is a problem; exit 1', async () => {
    let r = await doctor('--site', 'shopp');
    expect(r.code).toBe(1);
    expect(r.out).toContain('no site "shopp" in the site config (it has shop, lab)');
    process.env.LOG_LEVEL = 'verbose';
    r = await doctor('--site', 'shop');
    expect(r.code).toBe(1);
    expect(r.out).toContain('LOG_LEVEL: one of debug, info, warn (or warning), error');
    delete process.env.LOG_LEVEL;
    const bad = join(tmp.dir, 'bad.json');
    writeFileSync(bad, JSON.stringify({ sites: { shop: { origins: ['https://shop.example/'] } } }));
    r = await doctor('--site', 'shop', '--config', bad);
    expect(r.code).toBe(1);
    expect(r.out).toContain('sites.shop.origins.0: an origin like');
    r = await doctor('--site', 'shop', '--url', 'shop.example/cameras');
    expect(r.code).toBe(1);
    expect(r.out).toContain('is not an http(s) URL');
    expect((await doctor()).code).toBe(2);
  });

  it('warns when email links would point at localhost', async () => {
    delete process.env.MICROSEG_PUBLIC_URL;
    const r = await doctor('--site', 'shop');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/warn +public url +MICROSEG_PUBLIC_URL is not set/);
  });

  it('runs as the built command, with its exit code', async () => {
    await ensureBuilt();
    const child = spawn(
      process.execPath,
      ['dist/collector.mjs', 'doctor', '--site', 'shop', '--origin', 'https://evil.example'],
      { env: { ...process.env }, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    expect(await stopped(child)).toBe(1);
    expect(out).toContain('origin https://evil.example is not allowed for site "shop"');
  });
});
