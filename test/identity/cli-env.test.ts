/**
 * Every CLI command loads the site config as `serve` does, with the environment's fallbacks
 * (MICROSEG_WEBHOOK_SECRET, MICROSEG_API_KEY); `link` without --collector points where the
 * collector itself would; the README's `link` example runs as written.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openStorage } from '../../collector/storage/open.ts';
import { tempDir } from '../helpers.ts';
import { cli } from '../cli-capture.ts';

const tmp = tempDir();
const configFile = join(tmp.dir, 'sites.json');
// docs/triggers.md: webhooks take their secret from MICROSEG_WEBHOOK_SECRET.
writeFileSync(
  configFile,
  JSON.stringify({
    sites: {
      shop: {
        origins: ['https://shop.example'],
        rules: { 'camera-intent': { when: { fact: 'category', eq: 'cameras' } } },
        webhooks: [
          { segment: 'camera-intent', on: 'enter', url: 'https://mail.example/hooks/camera' },
        ],
      },
    },
  }),
);
const saved = { ...process.env };
beforeEach(() => {
  for (const k of Object.keys(process.env))
    if (k.startsWith('MICROSEG_') || k === 'PORT' || k === 'HOST') delete process.env[k];
  process.env.MICROSEG_DB = join(tmp.dir, 'data', 'microseg.db');
  process.env.MICROSEG_WEBHOOK_SECRET = 'a-webhook-secret-of-some-length';
});
afterEach(() => {
  process.env = { ...saved };
});
afterAll(() => tmp.cleanup());

const linkArgs = ['--site', 'shop', '--contact', 'crm-1', '--to', 'https://shop.example/cameras'];

describe('the config with the environment, in every command', () => {
  it('link accepts webhooks whose secret is MICROSEG_WEBHOOK_SECRET', async () => {
    const r = await cli('link', ...linkArgs, '--config', configFile);
    expect(r.err).not.toContain('secret');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^http:\/\/localhost:8787\/r\?/);
  });

  it('export accepts it too', async () => {
    // The collector's database: export refuses a file that is not there.
    await (await openStorage(join(tmp.dir, 'data', 'microseg.db'))).close();
    const out = join(tmp.dir, 'audience.csv');
    const r = await cli(
      'export',
      '--site',
      'shop',
      '--segment',
      'camera-intent',
      '--config',
      configFile,
      '--out',
      out,
    );
    expect(r.code).toBe(0);
    expect(r.err).toContain('0 members of "camera-intent"');
    expect(readFileSync(out, 'utf8')).toMatch(/^visitor,contact,segment/);
  });

  it('export knows a rule saved at runtime (/v1/rules, the dashboard), and still refuses a misspelt one', async () => {
    const storage = await openStorage(join(tmp.dir, 'data', 'microseg.db'));
    const rule = { when: { count: { type: 'page_view', within: '7d' }, gte: 1 } };
    await storage.write((tx) => tx.rules.put('shop', 'saved-rule', JSON.stringify(rule), 1, 100));
    await storage.close();
    const out = join(tmp.dir, 'saved.csv');
    const args = ['--site', 'shop', '--config', configFile, '--out', out];
    const r = await cli('export', '--segment', 'saved-rule', ...args);
    expect(r.err).toContain('0 members of "saved-rule"');
    expect(r.code).toBe(0);
    const typo = await cli('export', '--segment', 'saved-rul', ...args);
    expect(typo.code).toBe(2);
    expect(typo.err).toContain('"saved-rul" is not a custom segment');
  });

  it('without the secret anywhere, both say so', async () => {
    delete process.env.MICROSEG_WEBHOOK_SECRET;
    const r = await cli('link', ...linkArgs, '--config', configFile);
    expect(r.code).toBe(1);
    expect(r.err).toContain('MICROSEG_WEBHOOK_SECRET');
  });

  it('a bad variable stops a CLI command too, named', async () => {
    process.env.LOG_LEVEL = 'loud';
    const r = await cli('link', ...linkArgs, '--config', configFile);
    expect(r.code).toBe(1);
    expect(r.err).toContain('LOG_LEVEL: one of debug, info');
  });
});

describe('where a link points without --collector', () => {
  it('MICROSEG_PUBLIC_URL when set', async () => {
    process.env.MICROSEG_PUBLIC_URL = 'https://collect.shop.example';
    const r = await cli('link', ...linkArgs, '--config', configFile);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^https:\/\/collect\.shop\.example\/r\?/);
    expect(r.err).toBe('');
  });

  it('else the address PORT and HOST give, as the collector uses for its own links', async () => {
    process.env.PORT = '9123';
    let r = await cli('link', ...linkArgs, '--config', configFile);
    expect(r.out).toMatch(/^http:\/\/localhost:9123\/r\?/);
    // On every interface, localhost reaches only this machine: said on stderr.
    expect(r.err).toContain('MICROSEG_PUBLIC_URL is not set');
    process.env.HOST = '10.1.2.3';
    r = await cli('link', ...linkArgs, '--config', configFile);
    expect(r.out).toMatch(/^http:\/\/10\.1\.2\.3:9123\/r\?/);
    expect(r.err).toBe('');
  });

  it("a plain link points at the page: no warning about the collector's address", async () => {
    const r = await cli('link', '--plain', ...linkArgs, '--config', configFile);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^https:\/\/shop\.example\/cameras\?/);
    expect(r.err).toBe('');
  });

  it("README's serve --help is the command's", async () => {
    const readme = readFileSync(join(import.meta.dirname, '../../README.md'), 'utf8');
    const shown = /\$ npx microseg serve --help\n([\s\S]*?)\n```/.exec(readme)?.[1];
    const r = await cli('serve', '--help');
    expect(shown).toBe(r.out);
  });

  it('PORT=0 knows no address: asks for --collector', async () => {
    process.env.PORT = '0';
    const r = await cli('link', ...linkArgs, '--config', configFile);
    expect(r.code).toBe(2);
    expect(r.err).toContain('--collector');
  });
});

describe("the README's link examples", () => {
  // Each `npx microseg link …` command of README.md, its continuation lines joined.
  const readme = readFileSync(join(import.meta.dirname, '../../README.md'), 'utf8');
  const commands = [...readme.matchAll(/^npx microseg link ((?:.*\\\n)*.*)$/gm)].map((m) =>
    m[1]!.replace(/\\\n/g, ' ').replace(/#.*$/, '').trim().split(/\s+/),
  );

  it('run as written, with the sites.json the README shows', async () => {
    expect(commands.length).toBeGreaterThanOrEqual(2);
    for (const args of commands) {
      expect(args).toContain('--config');
      const r = await cli('link', ...args.map((a) => (a === 'sites.json' ? configFile : a)));
      expect(r.err).not.toMatch(/microseg link:(?! MICROSEG_PUBLIC_URL)/);
      expect(r.code).toBe(0);
      expect(r.out).toMatch(/^https:\/\/[^ ]+(\/r\?|ms_t=)/);
    }
  });
});
