import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DEFAULT_TIMEOUTS, ENV_NAMES, readEnv } from '../../collector/config/env.ts';
import { runBuilt, startCollector, stopped } from '../collector-process.ts';
import { tempDir } from '../helpers.ts';

const tmp = tempDir();
afterAll(() => tmp.cleanup());

describe('readEnv', () => {
  it('gives the documented defaults for an empty environment', () => {
    const e = readEnv({});
    expect(e).toMatchObject({
      port: 8787,
      host: '0.0.0.0',
      demo: true,
      logLevel: 'info',
      profileCache: 5000,
      timeouts: DEFAULT_TIMEOUTS,
      limits: { ipPerMinute: 1200, visitorPerMinute: 120, trustProxy: 0, connectionsPerIp: 64 },
    });
    expect(e.db).toMatch(/data[/\\]microseg\.db$/);
    // An empty value is unset, as in a unit file's `MICROSEG_CONFIG=`.
    expect(readEnv({ MICROSEG_CONFIG: '', PORT: '' })).toMatchObject({ port: 8787 });
  });

  it('LOG_LEVEL takes the documented names, warning as warn, and refuses the rest', () => {
    expect(readEnv({ LOG_LEVEL: 'warning' }).logLevel).toBe('warn');
    expect(readEnv({ LOG_LEVEL: 'WARN' }).logLevel).toBe('warn');
    expect(readEnv({ LOG_LEVEL: 'debug' }).logLevel).toBe('debug');
    expect(() => readEnv({ LOG_LEVEL: 'verbose' })).toThrow(
      /LOG_LEVEL: one of debug, info, warn \(or warning\), error/,
    );
  });

  it('MICROSEG_PG_POOL: connections of the PostgreSQL pool, at least one', () => {
    expect(readEnv({}).poolSize).toBeUndefined();
    expect(readEnv({ MICROSEG_PG_POOL: '24' }).poolSize).toBe(24);
    for (const v of ['0', '-1', '2.5', 'many'])
      expect(() => readEnv({ MICROSEG_PG_POOL: v }), v).toThrow(
        /MICROSEG_PG_POOL: a whole number of connections ≥ 1/,
      );
  });

  it('MICROSEG_DEMO: 0, false, no and off turn the demo off; other words are refused', () => {
    for (const v of ['0', 'false', 'FALSE', 'no', 'off'])
      expect(readEnv({ MICROSEG_DEMO: v }).demo).toBe(false);
    for (const v of ['1', 'true', 'yes', 'on'])
      expect(readEnv({ MICROSEG_DEMO: v }).demo).toBe(true);
    expect(() => readEnv({ MICROSEG_DEMO: 'nope' })).toThrow(/MICROSEG_DEMO: one of 1, true/);
  });

  it('names every bad variable at once, and what it accepts', () => {
    let message = '';
    try {
      readEnv({
        PORT: '80a',
        MICROSEG_RATE_IP: '-1',
        MICROSEG_BODY_TIMEOUT_MS: '1.5',
        MICROSEG_METRICS_PORT: '70000',
        MICROSEG_PUBLIC_URL: 'collect.example',
        MICROSEG_METRICS_TOKEN: 'short',
        MICROSEG_API_KEY: 'short',
      });
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toContain('invalid environment');
    expect(message).toContain('PORT: a port number, 0–65535');
    expect(message).toContain('MICROSEG_RATE_IP: a whole number ≥ 0');
    expect(message).toContain('MICROSEG_BODY_TIMEOUT_MS: a whole number ≥ 0');
    expect(message).toContain('MICROSEG_METRICS_PORT: a port number');
    expect(message).toContain('MICROSEG_PUBLIC_URL: an http(s) URL');
    expect(message).toContain('MICROSEG_METRICS_TOKEN: at least 16 characters');
    expect(message).toContain('MICROSEG_API_KEY: at least 16 characters');
    // The value as given, for a variable set out of sight (a unit's EnvironmentFile); a secret's never.
    expect(message).toContain('PORT: a port number, 0–65535 (got "80a")');
    expect(message).toContain('MICROSEG_METRICS_PORT: a port number, 0–65535 (got "70000")');
    expect(message).toContain('(got "collect.example")');
    expect(message).toMatch(/MICROSEG_METRICS_TOKEN: at least 16 characters$/m);
    expect(message).toMatch(/MICROSEG_API_KEY: at least 16 characters$/m);
    expect(message).not.toContain('short');
  });

  it('refuses a MICROSEG_* name it does not read (a typo would be ignored silently)', () => {
    expect(() => readEnv({ MICROSEG_DEMOS: '0' })).toThrow(
      /MICROSEG_DEMOS: not a variable microseg reads: did you mean MICROSEG_DEMO\? \(they are MICROSEG_DB, .*MICROSEG_DEMO/,
    );
    expect(() => readEnv({ MICROSEG_PUBLICURL: 'https://c.example' })).toThrow(
      /MICROSEG_PUBLICURL: not a variable microseg reads: did you mean MICROSEG_PUBLIC_URL\?/,
    );
    // Nothing close: no guess.
    expect(() => readEnv({ MICROSEG_FOO: '1' })).toThrow(
      /MICROSEG_FOO: not a variable microseg reads \(they are/,
    );
    expect(ENV_NAMES).toEqual(
      expect.arrayContaining(['LOG_LEVEL', 'PORT', 'MICROSEG_TRUST_PROXY']),
    );
  });

  it("README's Configuration table lists exactly the variables read", () => {
    const readme = readFileSync(join(import.meta.dirname, '../../README.md'), 'utf8');
    const section = readme.slice(
      readme.indexOf('## Configuration'),
      readme.indexOf('The **site config file**'),
    );
    const documented = new Set(
      [...section.matchAll(/^\| (.*?) \|/gm)].flatMap((m) =>
        [...(m[1] ?? '').matchAll(/`([A-Z_]+)`/g)].map((n) => n[1]),
      ),
    );
    expect([...documented].sort()).toEqual([...ENV_NAMES].sort());
  });

  it('never echoes a secret in its refusal', () => {
    expect(() => readEnv({ MICROSEG_SECRET: 'tooshort-secret-value' })).toThrow(
      /MICROSEG_SECRET: secret #1 is shorter than 32 characters/,
    );
    try {
      readEnv({ MICROSEG_SECRET: 'tooshort-secret-value' });
    } catch (err) {
      expect((err as Error).message).not.toContain('tooshort');
    }
  });

  it('refuses a headers timeout longer than the request timeout', () => {
    expect(() =>
      readEnv({ MICROSEG_HEADERS_TIMEOUT_MS: '5000', MICROSEG_REQUEST_TIMEOUT_MS: '1000' }),
    ).toThrow(/MICROSEG_HEADERS_TIMEOUT_MS: 5000 is longer than MICROSEG_REQUEST_TIMEOUT_MS/);
  });
});

describe('the collector process', () => {
  it('a bad variable stops the start, named with what is allowed', async () => {
    const r = await runBuilt(['serve', '--port', '0'], {
      LOG_LEVEL: 'verbose',
      MICROSEG_DB: join(tmp.dir, 'bad.db'),
    });
    expect(r.code).toBe(1);
    expect(r.out).toContain('LOG_LEVEL: one of debug, info, warn (or warning), error');
    expect(r.out).not.toContain('collector on');
  });

  it('MICROSEG_DEMO=false: no demo, and the banner names none; LOG_LEVEL=warning hides info', async () => {
    const c = await startCollector({
      MICROSEG_DEMO: 'false',
      LOG_LEVEL: 'warning',
      MICROSEG_DB: join(tmp.dir, 'nodemo.db'),
    });
    try {
      expect((await fetch(`${c.url}/demo/`)).status).toBe(404);
      expect((await fetch(`${c.url}/healthz`)).status).toBe(200);
      const out = c.output();
      expect(out).toContain('collector on');
      expect(out).not.toContain('demo shop');
      expect(out).not.toContain('"level":"info"');
      expect(out).not.toContain('"level":"debug"');
    } finally {
      c.child.kill('SIGTERM');
      await stopped(c.child);
    }
  });

  it('MICROSEG_DEMO=0 likewise; unset, the demo is served and in the banner', async () => {
    const off = await startCollector({ MICROSEG_DEMO: '0', MICROSEG_DB: join(tmp.dir, 'd0.db') });
    const on = await startCollector({ MICROSEG_DB: join(tmp.dir, 'd1.db') });
    try {
      expect(off.output()).not.toContain('demo shop');
      expect((await fetch(`${off.url}/demo/`)).status).toBe(404);
      expect(on.output()).toContain('demo shop:');
      expect((await fetch(`${on.url}/demo/`)).status).toBe(200);
    } finally {
      for (const c of [off, on]) c.child.kill('SIGTERM');
      await Promise.all([stopped(off.child), stopped(on.child)]);
    }
  });
});
