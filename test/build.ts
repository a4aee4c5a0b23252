/**
 * The built bundles under test. `npm test` builds first; a lone `vitest run <folder>` (or one after
 * an edit) must still run the current code, so a missing or stale bundle is rebuilt — under a lock
 * directory, because vitest runs test files in parallel workers and one must never start a bundle
 * another is rewriting.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, rmdirSync, rmSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

const TARGETS = {
  snippet: {
    bundles: ['dist/ms.js', 'dist/ms.rules.js', 'dist/ms.cookie.js'],
    sources: ['snippet', 'shared'],
  },
  collector: { bundles: ['dist/collector.mjs'], sources: ['collector', 'shared'] },
  sdk: {
    bundles: ['dist/sdk/client.js', 'dist/types/sdk/client.d.ts'],
    sources: ['sdk', 'shared'],
  },
} as const;

export type Target = keyof typeof TARGETS;

function newest(dir: string): number {
  let t = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    t = Math.max(t, entry.isDirectory() ? newest(path) : statSync(path).mtimeMs);
  }
  return t;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function build(target: Target): Promise<void> {
  const { bundles, sources } = TARGETS[target];
  const lock = join(root, `dist/.${target}-build-lock`);
  mkdirSync(join(root, 'dist'), { recursive: true });
  for (;;) {
    try {
      mkdirSync(lock);
      break;
    } catch {
      // A lock left by a killed run would block every later run.
      const held = statSync(lock, { throwIfNoEntry: false });
      if (held && Date.now() - held.mtimeMs > 30_000)
        rmSync(lock, { recursive: true, force: true });
      await sleep(50);
    }
  }
  try {
    const changed = Math.max(...sources.map((d) => newest(join(root, d))));
    const stale = bundles.some((b) => {
      const file = join(root, b);
      return !existsSync(file) || statSync(file).mtimeMs < changed;
    });
    if (stale)
      execFileSync(process.execPath, ['build.mjs', `--${target}`], { cwd: root, stdio: 'pipe' });
  } finally {
    rmdirSync(lock);
  }
}

const built = new Map<Target, Promise<void>>();

/** Resolves once `target`'s bundle is current (built at most once per test file). */
export function freshBuild(target: Target): Promise<void> {
  let p = built.get(target);
  if (!p) {
    p = build(target);
    built.set(target, p);
  }
  return p;
}
