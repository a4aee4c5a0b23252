/**
 * Where a newcomer following the README got no answer or a misleading one: a data command run
 * in another folder (it made an empty database there and reported nothing to do), `--db` skipping
 * the environment check, `backup` saying to keep MICROSEG_SECRET with the backup, and `serve` on a
 * port already in use (a Node stack trace).
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DEFAULT_ENGINE } from '../../collector/engine/index.ts';
import { openStorage } from '../../collector/storage/open.ts';
import { ensureBuilt, stopped } from '../collector-process.ts';
import { tempDir } from '../helpers.ts';
import { cli } from '../cli-capture.ts';

const tmp = tempDir();
const db = join(tmp.dir, 'live.db');
const saved = { ...process.env };
beforeAll(async () => (await openStorage(db)).close());
beforeEach(() => {
  for (const k of Object.keys(process.env))
    if (k.startsWith('MICROSEG_') || k === 'PORT' || k === 'HOST' || k === 'LOG_LEVEL')
      delete process.env[k];
});
afterEach(() => {
  process.env = { ...saved };
});
afterAll(() => tmp.cleanup());

const dataCommands: [string, string[]][] = [
  ['export', ['--site', 'shop', '--segment', 'newbie:*:*']],
  ['forget', ['--site', 'shop', '--contact', 'crm-4711']],
  ['deliveries', ['--site', 'shop', '--status', 'failed']],
  ['quarantine', ['--site', 'shop']],
  ['rfm', ['--site', 'demo']],
  ['train', ['--site', 'demo', '--goal', 'buyer']],
];

describe('data commands on a database that is not there', () => {
  it.each(dataCommands)('%s refuses it, names it and creates nothing', async (name, args) => {
    const missing = join(tmp.dir, `elsewhere-${name}`, 'data', 'microseg.db');
    for (const given of [['--db', missing], []]) {
      process.env.MICROSEG_DB = missing;
      const r = await cli(name, ...args, ...given);
      expect(r.code).toBe(1);
      expect(r.err).toContain(`microseg ${name}: no database at ${missing}`);
      expect(r.err).toContain('--db FILE or MICROSEG_DB');
      expect(r.out).toBe('');
      expect(existsSync(missing)).toBe(false);
    }
  });

  it('an existing one is used as before', async () => {
    const r = await cli('quarantine', '--site', 'shop', '--db', db);
    expect(r.code).toBe(0);
    expect(r.out).toContain('no refused events for site shop');
  });
});

describe('a site with no profile in the database (a mistyped --site)', () => {
  const file = join(tmp.dir, 'sites.db');
  beforeAll(async () => {
    const storage = await openStorage(file);
    const ev = { id: 'e1', type: 'page_view', ts: Date.now() };
    await storage.write((tx) => tx.ingest('shop', 'v1', [ev], DEFAULT_ENGINE, Date.now()));
    await storage.close();
  });

  it('is named in the empty answers of quarantine, deliveries and forget, with the sites it has', async () => {
    const q = await cli('quarantine', '--site', 'shpo', '--db', file);
    expect(q.out).toContain(
      'no refused events for site shpo (this database has no profile of site "shpo"; its sites: shop)',
    );
    const d = await cli('deliveries', '--site', 'shpo', '--db', file);
    expect(d.out).toContain('no profile of site "shpo"; its sites: shop');
    const f = await cli('forget', '--site', 'shpo', '--visitor', 'v1', '--db', file);
    expect(f.code).toBe(0);
    expect(f.err).toContain(
      'nothing of this person found (this database has no profile of site "shpo"',
    );
  });

  it('is not, for a site the database has', async () => {
    const q = await cli('quarantine', '--site', 'shop', '--db', file);
    expect(q.out).toBe('no refused events for site shop');
  });
});

describe('the environment is checked with --db too, as every command promises', () => {
  it.each([...dataCommands, ['backup', ['--out', join(tmp.dir, 'never.db')]]] as [
    string,
    string[],
  ][])('%s', async (name, args) => {
    process.env.MICROSEG_DEMOS = '0';
    const r = await cli(name, ...args, '--db', db);
    expect(r.code).toBe(1);
    expect(r.err).toContain('MICROSEG_DEMOS: not a variable microseg reads');
  });
});

describe('backup and the signing keys', () => {
  it('with MICROSEG_SECRET: its value is kept apart from the backups, never printed', async () => {
    const secret = 'a-signing-secret-of-at-least-32-characters';
    process.env.MICROSEG_SECRET = secret;
    const r = await cli('backup', '--db', db, '--out', join(tmp.dir, 'with-secret.db'));
    expect(r.code).toBe(0);
    expect(r.out).toMatch(
      /key file: +not in the backup: the signing keys come from MICROSEG_SECRET/,
    );
    expect(r.out).toContain('apart from the backups');
    expect(r.out).not.toContain('keep its value with the backup');
    expect(r.out).not.toContain(secret);
  });
});

describe('serve where it cannot listen', () => {
  let busy: Server;
  let port = 0;
  beforeAll(async () => {
    busy = createServer();
    await new Promise<void>((ok) => busy.listen(0, '127.0.0.1', ok));
    const addr = busy.address();
    port = typeof addr === 'object' && addr ? addr.port : 0;
  });
  afterAll(() => new Promise<void>((ok) => busy.close(() => ok())));

  async function serve(env: Record<string, string>) {
    await ensureBuilt();
    const child = spawn(process.execPath, ['dist/collector.mjs', 'serve'], {
      env: { ...saved, MICROSEG_DB: join(tmp.dir, 'serve.db'), HOST: '127.0.0.1', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let err = '';
    child.stderr.on('data', (d) => (err += d));
    const code = await stopped(child);
    return { code, err };
  }

  it('a port in use: one line naming the port and how to choose another, no stack trace', async () => {
    const r = await serve({ PORT: String(port) });
    expect(r.code).toBe(1);
    expect(r.err).toContain(
      `microseg serve: port ${port} on 127.0.0.1 is already in use (another collector, or another program): stop it, or choose another port (--port or PORT)`,
    );
    expect(r.err).not.toMatch(/\n\s+at /);
  });

  it('the metrics port in use names the metrics setting', async () => {
    const r = await serve({ PORT: '0', MICROSEG_METRICS_PORT: String(port) });
    expect(r.code).toBe(1);
    expect(r.err).toContain('choose another port (--metrics-port or MICROSEG_METRICS_PORT)');
  });

  it('an address this machine does not have names HOST', async () => {
    const r = await serve({ PORT: '0', HOST: '192.0.2.1' });
    expect(r.code).toBe(1);
    expect(r.err).toContain('microseg serve: 192.0.2.1 is not an address of this machine');
    expect(r.err).toContain('--host or HOST');
  });
});

describe("the README's doctor example", () => {
  const readme = readFileSync(join(import.meta.dirname, '../../README.md'), 'utf8');
  // The Configuration section's example, saved as the sites.json the commands name.
  const example = /```json\n(\{\n {2}"sites"[\s\S]*?)```/.exec(readme)?.[1];
  const block = /\$ npx microseg (doctor .*)\n([\s\S]*?)\n```/.exec(readme);

  it('runs as written on the example config and prints what it shows', async () => {
    expect(example).toBeDefined();
    expect(block).not.toBeNull();
    const configFile = join(tmp.dir, 'sites.json');
    writeFileSync(configFile, example ?? '');
    process.env.MICROSEG_DB = db;
    const args = (block?.[1] ?? '').split(/\s+/).map((a) => (a === 'sites.json' ? configFile : a));
    expect(args).toContain('--config');
    const r = await cli(...args);
    expect(r.code).toBe(1);
    // Each shown line's parts around "…" appear in the output, in order.
    let at = 0;
    for (const line of (block?.[2] ?? '').split('\n')) {
      for (const part of line.split('…').map((p) => p.trim())) {
        if (part === '') continue;
        const found = r.out.indexOf(part, at);
        expect(found, part).toBeGreaterThanOrEqual(0);
        at = found + part.length;
      }
    }
  });
});
