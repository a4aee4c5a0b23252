import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { optionsFromEnv, start, type Running } from '../../collector/http/server.ts';
import { tempDir } from '../helpers.ts';
import { cli } from '../cli-capture.ts';

// The CLI and a real collector share the key file next to the database: a link printed by
// `microseg link` must pass the running collector's /r.
const tmp = tempDir();
const db = join(tmp.dir, 'data', 'microseg.db');
const configFile = join(tmp.dir, 'sites.json');
let running: Running;
const saved = { ...process.env };

beforeAll(async () => {
  writeFileSync(
    configFile,
    JSON.stringify({ sites: { shop: { origins: ['https://site.example'] } } }),
  );
  process.env.MICROSEG_DB = db;
  process.env.MICROSEG_CONFIG = configFile;
  delete process.env.MICROSEG_SECRET;
  delete process.env.MICROSEG_PUBLIC_URL;
  const opts = { ...optionsFromEnv(), port: 0, host: '127.0.0.1', demo: false };
  running = await start(opts, () => {});
});

afterAll(async () => {
  await running.close();
  process.env = saved;
  tmp.cleanup();
});

describe('microseg link', () => {
  it('prints a link that the running collector redirects', async () => {
    const r = await cli(
      'link',
      '--site',
      'shop',
      '--contact',
      'crm-9',
      '--to',
      'https://site.example/x',
      '--campaign',
      'spring',
      '--category',
      'cameras',
      '--collector',
      running.url,
    );
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.out.startsWith(`${running.url}/r?`)).toBe(true);
    expect(r.out).not.toContain('crm-9');
    expect(r.out).toContain('utm_medium=email');
    const res = await fetch(r.out, { redirect: 'manual' });
    expect(res.status).toBe(302);
    const to = new URL(res.headers.get('location')!);
    expect(to.origin + to.pathname).toBe('https://site.example/x');
    expect(to.searchParams.get('ms_cat')).toBe('cameras');
    expect(await running.storage.countEvents('shop', 'c:crm-9')).toBe(1);
  });

  it('prints a plain link with --plain', async () => {
    const r = await cli(
      'link',
      '--plain',
      '--site',
      'shop',
      '--contact',
      'crm-9',
      '--to',
      'https://site.example/y',
      '--category',
      'cameras',
    );
    expect(r.code).toBe(0);
    const url = new URL(r.out);
    expect(url.origin + url.pathname).toBe('https://site.example/y');
    expect(url.searchParams.get('ms_t')).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(url.searchParams.get('utm_medium')).toBe('email');
  });

  it('explains bad input and has --help', async () => {
    expect(await cli('link', '--help')).toMatchObject({
      code: 0,
      out: expect.stringContaining('--contact C'),
    });
    expect(await cli('link', '--site', 'shop', '--contact', 'c')).toMatchObject({
      code: 2,
      err: expect.stringContaining('--to is required'),
    });
    expect(
      await cli('link', '--site', 'nope', '--contact', 'c', '--to', 'https://site.example/'),
    ).toMatchObject({ code: 2, err: expect.stringContaining('no site "nope"') });
    expect(
      await cli('link', '--site', 'shop', '--contact', 'c', '--to', 'https://evil.example/'),
    ).toMatchObject({ code: 2, err: expect.stringContaining('not one of site "shop"') });
    expect(
      await cli(
        'link',
        '--site',
        'shop',
        '--contact',
        'c',
        '--to',
        'https://site.example/',
        '--ttl',
        'abc',
      ),
    ).toMatchObject({ code: 2, err: expect.stringContaining('ttlDays') });
  });
});
