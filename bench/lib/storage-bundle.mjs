/**
 * The collector's storage layer, config and limits as one ESM file for the seeder: the same code the
 * collector runs (queries, engine, migrations), bundled from source by esbuild.
 */
import { build } from 'esbuild';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../..', import.meta.url));
export const STORAGE_BUNDLE = fileURLToPath(
  new URL('../results/build/storage.mjs', import.meta.url),
);

/** esbuild's options for a bench script run by Node: one ESM file, dependencies left external. */
export const NODE_SCRIPT = {
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: ['node20'],
  packages: 'external',
  logLevel: 'warning',
};

export async function buildStorageBundle() {
  await build({
    stdin: {
      contents: `export { openStorage } from './collector/storage/open.ts';
export { sqliteHandle } from './collector/storage/sqlite/index.ts';
export { rollupDue } from './collector/jobs/segment-sizes.ts';
export { loadConfig } from './collector/config/config.ts';
export { LIMITS } from './shared/limits.ts';`,
      resolveDir: root,
      loader: 'ts',
      sourcefile: 'bench-storage.ts',
    },
    outfile: STORAGE_BUNDLE,
    ...NODE_SCRIPT,
  });
  return STORAGE_BUNDLE;
}
