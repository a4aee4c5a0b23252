/** Runs the built collector (`dist/collector.mjs serve`) as a child process, as an operator would. */
import { spawn, type ChildProcess } from 'node:child_process';
import { freshBuild } from './build.ts';

export interface CollectorProcess {
  child: ChildProcess;
  url: string;
  output(): string;
}

/** Both bundles current: the collector runs `dist/collector.mjs` and serves `dist/ms.js`. */
export async function ensureBuilt(): Promise<void> {
  await Promise.all([freshBuild('collector'), freshBuild('snippet')]);
}

// A test that fails or times out must not leave its collector running.
const children = new Set<ChildProcess>();
process.once('exit', () => {
  for (const c of children) c.kill('SIGKILL');
});

export async function startCollector(
  env: Record<string, string>,
  args: string[] = [],
): Promise<CollectorProcess> {
  await ensureBuilt();
  const child = spawn(
    process.execPath,
    ['dist/collector.mjs', 'serve', '--port', '0', '--host', '127.0.0.1', ...args],
    {
      env: {
        ...process.env,
        MICROSEG_RATE_IP: '0',
        MICROSEG_RATE_VISITOR: '0',
        LOG_LEVEL: 'warn',
        ...env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  children.add(child);
  child.once('exit', () => children.delete(child));
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const url = await new Promise<string>((ok, fail) => {
    const timer = setTimeout(() => fail(new Error(`collector did not start:\n${out}`)), 15_000);
    const check = () => {
      const m = /collector on (http:\/\/[^\s]+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        ok(m[1]!);
      }
    };
    child.stdout!.on('data', check);
    child.once('exit', (code) => fail(new Error(`collector exited with ${code}:\n${out}`)));
  });
  return { child, url, output: () => out };
}

export function stopped(child: ChildProcess): Promise<number | null> {
  return new Promise((ok) => {
    if (child.exitCode !== null || child.signalCode !== null) return ok(child.exitCode);
    child.once('exit', (code) => ok(code));
  });
}

/** Runs `dist/collector.mjs ARGS` to its exit, as an operator would: its exit code and output. */
export async function runBuilt(
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number | null; out: string }> {
  await ensureBuilt();
  const child = spawn(process.execPath, ['dist/collector.mjs', ...args], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout?.on('data', (d) => (out += d));
  child.stderr?.on('data', (d) => (out += d));
  return { code: await stopped(child), out };
}
