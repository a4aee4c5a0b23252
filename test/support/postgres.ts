/**
 * A throwaway PostgreSQL server for tests and benches: Debian's binaries
 * (`/usr/lib/postgresql/<version>/bin`, the newest installed), a cluster made by `initdb` in a
 * temporary folder, listening on 127.0.0.1 at a free port and on a unix socket inside that folder,
 * with `trust` authentication (nothing but this machine can reach it) and fsync on (the collector's
 * durability is what the tests and the bench are about). `stop()` ends the server and removes the
 * folder; so does the process's exit (a failed run, Ctrl-C), through a synchronous `pg_ctl stop`.
 * Only a SIGKILL of the test process leaves a server behind (postgres does not watch its parent).
 *
 * PostgreSQL refuses to run as root. As root (CI runs `.ci/run` as root) the cluster belongs to
 * the `postgres` account that Debian's `postgresql-common` creates with the binaries: initdb, the
 * server and pg_ctl are started with its uid/gid, and the folder is handed to it. We do not create
 * an account of our own: a test suite adding system users is worse than borrowing the one whose
 * job this is. As any other user, the cluster is simply that user's.
 *
 * The whole test run shares one server (test/support/pg-global-setup.ts starts it, ~1 s); each
 * test file takes a database of its own from it (test/support/pg-database.ts).
 */
import { type ChildProcess, execFileSync, spawn, spawnSync } from 'node:child_process';
import { chownSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** The superuser of the throwaway cluster (initdb -U). */
export const PG_USER = 'microseg';

export interface PgServer {
  /** `postgres://microseg@127.0.0.1:<port>/postgres`: the superuser, no password (trust). */
  url: string;
  port: number;
  /** The folder of the unix socket (`host=<dir>` in a libpq connection string). */
  socketDir: string;
  /** The server's version line (`postgres --version`). */
  version: string;
  stop(): Promise<void>;
}

/** The bin folder of the newest PostgreSQL that Debian installed, or null when there is none. */
export function findPgBin(root = '/usr/lib/postgresql'): string | null {
  if (!existsSync(root)) return null;
  const versions = readdirSync(root)
    .filter((v) => /^\d+$/.test(v) && existsSync(join(root, v, 'bin', 'initdb')))
    .sort((a, b) => Number(b) - Number(a));
  const newest = versions[0];
  return newest === undefined ? null : join(root, newest, 'bin');
}

/** Who runs the cluster: ourselves, or when we are root the `postgres` account. */
function clusterOwner(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  try {
    const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
    const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
    return { uid, gid };
  } catch {
    throw new Error(
      "PostgreSQL refuses to run as root and there is no `postgres` account to run the test cluster as: install Debian's postgresql (it creates the account) or run the tests as an unprivileged user",
    );
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const address = srv.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

/**
 * Resolves when the server logs that it accepts connections; rejects with its log when it exits
 * first (a port taken between `freePort` and the bind, a bad setting).
 */
function ready(child: ChildProcess, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    let log = '';
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`postgres did not start within ${timeoutMs} ms:\n${log}`));
    }, timeoutMs);
    const onData = (chunk: Buffer) => {
      log += chunk.toString();
      if (log.includes('database system is ready to accept connections')) {
        cleanup();
        resolve();
      }
    };
    const onExit = (code: number | null, signal: string | null) => {
      cleanup();
      reject(
        new Error(`postgres exited (${signal ?? code}) before accepting connections:\n${log}`),
      );
    };
    const cleanup = () => {
      clearTimeout(timer);
      child.stderr?.off('data', onData);
      child.off('exit', onExit);
    };
    child.stderr?.on('data', onData);
    child.once('exit', onExit);
  });
}

/**
 * Starts a throwaway cluster. `bin` defaults to the newest Debian PostgreSQL; throws when there is
 * none (callers decide whether that is a skip or an error: test/support/pg-global-setup.ts).
 */
export async function startPostgres(
  opts: { bin?: string; settings?: Record<string, string> } = {},
): Promise<PgServer> {
  const bin = opts.bin ?? findPgBin();
  if (!bin) throw new Error('PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/initdb)');
  const owner = clusterOwner();
  const as = owner ? { uid: owner.uid, gid: owner.gid } : {};
  const dir = mkdtempSync(join(tmpdir(), 'microseg-pg-'));
  const data = join(dir, 'data');
  const removeDir = () => rmSync(dir, { recursive: true, force: true });
  // Synchronous, for the process's exit: an immediate stop (no checkpoint: the data is thrown away).
  const stopNow = () => {
    if (existsSync(join(data, 'postmaster.pid'))) {
      spawnSync(join(bin, 'pg_ctl'), ['stop', '-D', data, '-m', 'immediate', '-w', '-s'], {
        ...as,
        cwd: dir,
        stdio: 'ignore',
        timeout: 10_000,
      });
    }
    removeDir();
  };
  const onExit = () => stopNow();
  const onSignal = (signal: NodeJS.Signals) => {
    stopNow();
    // We were the only listener: keep the signal's default meaning (end the process).
    if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
  };
  process.once('exit', onExit);
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const forget = () => {
    process.off('exit', onExit);
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  };

  try {
    if (owner) chownSync(dir, owner.uid, owner.gid);
    mkdirSync(data, { mode: 0o700 });
    if (owner) chownSync(data, owner.uid, owner.gid);
    // --no-sync only skips initdb's own flush of the fresh files (a throwaway cluster); the
    // server below runs with fsync on.
    execFileSync(
      join(bin, 'initdb'),
      [
        '-D',
        data,
        '-U',
        PG_USER,
        '--auth=trust',
        '--encoding=UTF8',
        '--locale=C.UTF-8',
        '--no-sync',
        '--no-instructions',
      ],
      { ...as, cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] },
    );
    const version = execFileSync(join(bin, 'postgres'), ['--version'], { encoding: 'utf8' }).trim();
    const settings: Record<string, string> = {
      listen_addresses: '127.0.0.1',
      unix_socket_directories: dir,
      fsync: 'on',
      synchronous_commit: 'on',
      full_page_writes: 'on',
      // English log lines: `ready` waits for one of them.
      lc_messages: 'C',
      ...opts.settings,
    };
    // A port found free can be taken before postgres binds it: try another.
    for (let attempt = 1; ; attempt++) {
      const port = await freePort();
      const args = ['-D', data, '-p', String(port)];
      for (const [k, v] of Object.entries(settings)) args.push('-c', `${k}=${v}`);
      const child = spawn(join(bin, 'postgres'), args, {
        ...as,
        cwd: dir,
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      try {
        await ready(child, 30_000);
      } catch (err) {
        child.kill('SIGKILL');
        if (attempt < 3 && /could not bind|Address already in use/.test(String(err))) continue;
        throw err;
      }
      // Keep the pipe drained: a full stderr pipe would block the server.
      child.stderr?.resume();
      let exited = child.exitCode !== null;
      const gone = new Promise<void>((resolve) => {
        if (exited) resolve();
        child.once('exit', () => {
          exited = true;
          resolve();
        });
      });
      return {
        url: `postgres://${PG_USER}@127.0.0.1:${port}/postgres`,
        port,
        socketDir: dir,
        version,
        async stop() {
          // SIGINT is PostgreSQL's fast shutdown: sessions are ended, no waiting for clients.
          if (!exited) child.kill('SIGINT');
          const timer = setTimeout(() => child.kill('SIGQUIT'), 10_000);
          await gone;
          clearTimeout(timer);
          removeDir();
          // Only now: a process dying while the server shuts down must still remove the folder.
          forget();
        },
      };
    }
  } catch (err) {
    forget();
    stopNow();
    throw err;
  }
}
