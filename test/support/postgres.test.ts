/**
 * The throwaway PostgreSQL server of the tests (test/support/postgres.ts): it is what it says
 * (fsync on, loopback and a socket in its folder, trust for the local superuser), and it leaves
 * nothing behind, neither after stop() nor when the process using it dies of an error or a signal.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from 'esbuild';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { PG_MISSING, pgSetup } from './pg-global-setup.ts';
import { findPgBin, startPostgres } from './postgres.ts';

function refused(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      resolve(false);
    });
    s.once('error', () => resolve(true));
  });
}

async function until(cond: () => boolean, ms = 15_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe.skipIf(!findPgBin())('throwaway PostgreSQL server', () => {
  it('runs with fsync on, on loopback and a socket in its folder, and stop() removes it', async () => {
    const server = await startPostgres();
    const client = new pg.Client({ connectionString: server.url });
    await client.connect();
    const show = async (name: string) =>
      (await client.query(`SHOW ${name}`)).rows[0][name] as string;
    expect(await show('fsync')).toBe('on');
    expect(await show('synchronous_commit')).toBe('on');
    expect(await show('listen_addresses')).toBe('127.0.0.1');
    expect(await show('unix_socket_directories')).toBe(server.socketDir);
    expect(existsSync(join(server.socketDir, `.s.PGSQL.${server.port}`))).toBe(true);
    await client.end();
    await server.stop();
    expect(existsSync(server.socketDir)).toBe(false);
    expect(await refused(server.port)).toBe(true);
  });

  describe('when the process using it dies', () => {
    let dir: string;
    let script: string;
    beforeAll(async () => {
      dir = mkdtempSync(join(tmpdir(), 'microseg-pgtest-'));
      await build({
        entryPoints: [join(import.meta.dirname, 'postgres.ts')],
        outfile: join(dir, 'postgres.mjs'),
        bundle: true,
        platform: 'node',
        format: 'esm',
        logLevel: 'warning',
      });
      script = join(dir, 'child.mjs');
      // Prints where its server lives, then either throws when told on stdin (a failing run) or waits
      // for a signal.
      writeFileSync(
        script,
        `import { startPostgres } from './postgres.mjs';
const s = await startPostgres();
console.log(JSON.stringify({ dir: s.socketDir, port: s.port }));
if (process.argv[2] === 'throw') process.stdin.once('data', () => { throw new Error('a test failed'); });
else setInterval(() => {}, 1000);
`,
      );
    });
    afterAll(() => rmSync(dir, { recursive: true, force: true }));

    for (const how of ['throw', 'SIGTERM'] as const) {
      it(`(${how}) the server stops and its folder goes`, async () => {
        const child = spawn(process.execPath, [script, how], { stdio: ['pipe', 'pipe', 'pipe'] });
        let out = '';
        child.stdout.on('data', (d) => {
          out += d;
        });
        const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
        await until(() => out.includes('\n'));
        const info = JSON.parse(out.split('\n')[0] ?? '') as { dir: string; port: number };
        expect(await refused(info.port)).toBe(false);
        if (how === 'SIGTERM') child.kill('SIGTERM');
        else child.stdin.write('go\n');
        expect(await exited).not.toBe(0);
        // The postmaster may linger as a zombie of the dead process: what counts is that the port
        // is closed (pg_ctl waited for the shutdown) and the folder gone.
        expect(existsSync(info.dir)).toBe(false);
        expect(await refused(info.port)).toBe(true);
      });
    }
  });
});

describe('without PostgreSQL installed', () => {
  afterEach(() => {
    vi.unstubAllEnvs();
    vi.restoreAllMocks();
  });

  it('the PostgreSQL tests skip, saying why, outside CI', async () => {
    vi.stubEnv('CI', '');
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    const provided: Record<string, unknown> = {};
    await pgSetup(
      {
        provide: (k, v) => {
          provided[k] = v;
        },
      },
      null,
    );
    expect(provided).toEqual({ pgUrl: '' });
    expect(warn).toHaveBeenCalledWith(expect.stringContaining(PG_MISSING));
  });

  it('the run fails under CI', async () => {
    vi.stubEnv('CI', 'true');
    await expect(pgSetup({ provide: () => {} }, null)).rejects.toThrow(/CI is set/);
  });
});
