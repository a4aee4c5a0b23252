/**
 * The package as a user gets it: `npm pack`, the tarball installed into an empty folder (from npm's
 * cache), and there `npx microseg serve` answers `/healthz`, `import('microseg/client')` reads a
 * segment from it, and a TypeScript file type-checks against the packed types.
 *
 * better-sqlite3 would compile from source when installed offline (~3 min on 2 cores): the install
 * finds its prebuilt binary in a local prebuilds folder instead (prebuild-install's
 * `npm_config_better_sqlite3_local_prebuilds`), made from this checkout's own binary, the same
 * version for the same Node ABI, so the install takes seconds.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freshBuild } from '../build.ts';
import { tempDir } from '../helpers.ts';

const run = promisify(execFile);
const root = join(import.meta.dirname, '../..');
const API_KEY = 'pack-test-api-key-0123456789';

const tmp = tempDir();
const app = join(tmp.dir, 'app');
let collector: ChildProcess | undefined;
let url = '';
let installMs = 0;

const sqlitePkg = join(root, 'node_modules/better-sqlite3');
const sqliteVersion: string = JSON.parse(
  readFileSync(join(sqlitePkg, 'package.json'), 'utf8'),
).version;

/** better-sqlite3's binary as a prebuilt tarball, named as prebuild-install looks for it. */
async function localPrebuild(dir: string): Promise<void> {
  const pkg = sqlitePkg;
  const version = sqliteVersion;
  const { modules } = process.versions;
  const file = `better-sqlite3-v${version}-node-v${modules}-${process.platform}-${process.arch}.tar.gz`;
  mkdirSync(dir, { recursive: true });
  await run('tar', ['-czf', join(dir, file), '-C', pkg, 'build/Release/better_sqlite3.node']);
}

beforeAll(async () => {
  await Promise.all([freshBuild('snippet'), freshBuild('collector'), freshBuild('sdk')]);
  // Built above, under the build lock: pack what is there (prepare would rebuild it).
  await run('npm', ['pack', '--ignore-scripts', '--pack-destination', tmp.dir], { cwd: root });
  const tarball = readdirSync(tmp.dir).find((f) => f.endsWith('.tgz'));
  if (!tarball) throw new Error('npm pack made no tarball');
  const prebuilds = join(tmp.dir, 'prebuilds');
  await localPrebuild(prebuilds);
  mkdirSync(app);
  writeFileSync(
    join(app, 'package.json'),
    // The checkout's better-sqlite3, whose prebuild is at hand: a newer release on the registry
    // would otherwise be compiled (the test is of this package, not of the newest dependency).
    JSON.stringify({
      name: 'consumer',
      private: true,
      type: 'module',
      overrides: { 'better-sqlite3': sqliteVersion },
    }),
  );
  const t0 = performance.now();
  await run(
    'npm',
    ['install', '--prefer-offline', '--no-audit', '--no-fund', join(tmp.dir, tarball)],
    {
      cwd: app,
      env: { ...process.env, npm_config_better_sqlite3_local_prebuilds: prebuilds },
    },
  );
  installMs = performance.now() - t0;
  console.log(`pack test: npm install of the tarball took ${Math.round(installMs)} ms`);
}, 240_000);

/** npx runs the collector as its child: stop the whole process group (the test made it its own). */
const stop = () => {
  if (collector?.pid !== undefined && collector.exitCode === null) {
    try {
      process.kill(-collector.pid, 'SIGTERM');
    } catch {
      // Gone already.
    }
  }
};
process.once('exit', stop);

afterAll(() => {
  stop();
  tmp.cleanup();
});

describe('the packed package, installed into an empty folder', () => {
  it('installs without compiling better-sqlite3', () => {
    const release = readdirSync(join(app, 'node_modules/better-sqlite3/build/Release'));
    expect(release).toContain('better_sqlite3.node');
    // A compile from source leaves its object files here.
    expect(release).not.toContain('obj.target');
  });

  it('`npx microseg serve` answers /healthz', async () => {
    collector = spawn('npx', ['--no', 'microseg', 'serve', '--port', '0', '--host', '127.0.0.1'], {
      cwd: app,
      env: { ...process.env, MICROSEG_API_KEY: API_KEY, LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    let out = '';
    url = await new Promise<string>((ok, fail) => {
      const timer = setTimeout(() => fail(new Error(`no listening line in:\n${out}`)), 20_000);
      const seen = (d: Buffer) => {
        out += d;
        const m = /microseg collector on (http:\/\/\S+)/.exec(out);
        if (m?.[1]) {
          clearTimeout(timer);
          ok(m[1]);
        }
      };
      collector?.stdout?.on('data', seen);
      collector?.stderr?.on('data', seen);
      collector?.once('exit', (code) => fail(new Error(`serve exited ${code}:\n${out}`)));
    });
    const res = await fetch(`${url}/healthz`);
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ ok: true });
  });

  it("`import('microseg/client')` tracks and reads a segment; every server entry point loads", async () => {
    expect(url).not.toBe('');
    writeFileSync(
      join(app, 'check.mjs'),
      `
      const { createClient } = await import('microseg/client');
      for (const m of ['microseg', 'microseg/cookie', 'microseg/hono', 'microseg/express'])
        await import(m);
      const client = createClient({ endpoint: process.argv[2], site: 'demo', apiKey: process.argv[3], timeoutMs: 5000 });
      const views = [1, 2, 3].map((i) => ({ visitor: 'v_pack', type: 'page_view', category: 'cameras', url: 'https://shop.example/c/' + i }));
      const tracked = await client.track(views);
      const read = await client.readSegment('v_pack');
      console.log(JSON.stringify({ accepted: tracked.accepted, source: read.source, category: read.segment.category }));
      `,
    );
    const { stdout } = await run(process.execPath, ['check.mjs', url, API_KEY], { cwd: app });
    expect(JSON.parse(stdout)).toEqual({ accepted: 3, source: 'collector', category: 'cameras' });
  });

  it("a consumer's TypeScript type-checks against the packed types (and a wrong call does not)", async () => {
    writeFileSync(
      join(app, 'consumer.ts'),
      `
      import { createClient, MicrosegError, type BrowserSegment, type EventsResponse } from 'microseg/client';
      import { visitorOf, VISITOR_COOKIE } from 'microseg/cookie';
      import { microseg, type MicrosegEnv } from 'microseg/hono';
      import { microseg as expressMicroseg } from 'microseg/express';
      import { useMicroseg } from 'microseg/react';
      import { Hono } from 'hono';

      const client = createClient({ endpoint: 'http://localhost', site: 'shop' });
      const s: Promise<BrowserSegment> = client.segment('v1');
      const t: Promise<EventsResponse> = client.track({ visitor: 'v1', type: 'purchase', value: 1 });
      const app = new Hono<MicrosegEnv>().use('*', microseg({ client }));
      app.get('/', (c) => c.text(c.var.microseg.segment.lifecycle));
      const name: 'ms_vid' = VISITOR_COOKIE.name;
      const v: string | null = visitorOf(new Request('http://x/')).visitor;
      const hook: () => BrowserSegment | null = useMicroseg;
      const e = new MicrosegError(401, 'unauthorized', 'no');
      const status: number = e.status;
      export { s, t, name, v, hook, status, expressMicroseg };
      // @ts-expect-error the site is required
      createClient({ endpoint: 'http://localhost' });
      // @ts-expect-error a segment's category is a string or null
      const n: number = (await s).category;
      `,
    );
    writeFileSync(
      join(app, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          target: 'ES2022',
          module: 'nodenext',
          moduleResolution: 'nodenext',
          lib: ['ES2023', 'DOM'],
          strict: true,
          noEmit: true,
          types: [],
        },
        files: ['consumer.ts'],
      }),
    );
    const tsc = join(root, 'node_modules/typescript/bin/tsc');
    const result = await run(process.execPath, [tsc, '-p', app]).then(
      () => '',
      (err: { stdout?: string }) => err.stdout ?? String(err),
    );
    expect(result).toBe('');
  });
});
