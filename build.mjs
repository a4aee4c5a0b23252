// Builds the browser snippet (one minified IIFE, gzip budget enforced) and the collector
// (one ESM file, dependencies left external). `node build.mjs [--snippet|--collector]`.
import { build } from 'esbuild';
import { gzipSync } from 'node:zlib';
import { mkdirSync, readFileSync } from 'node:fs';

/** DESIGN.md quality bar: the snippet, all features in, stays within this many gzip bytes. */
export const SNIPPET_BUDGET = 2048;

const only = process.argv[2];

async function buildSnippet() {
  await build({
    entryPoints: ['snippet/index.ts'],
    outfile: 'dist/ms.js',
    bundle: true,
    minify: true,
    format: 'iife',
    target: ['es2020'],
    legalComments: 'none',
    mangleProps: /^_/,
    define: { 'process.env.NODE_ENV': '"production"' },
  });
  const code = readFileSync('dist/ms.js');
  const gz = gzipSync(code, { level: 9 }).length;
  console.log(`snippet dist/ms.js: ${code.length} bytes, ${gz} bytes gzip (budget ${SNIPPET_BUDGET})`);
  if (gz > SNIPPET_BUDGET) {
    console.error(`snippet over budget by ${gz - SNIPPET_BUDGET} bytes gzip`);
    process.exit(1);
  }
}

async function buildCollector() {
  await build({
    entryPoints: { collector: 'collector/main.ts' },
    outdir: 'dist',
    outExtension: { '.js': '.mjs' },
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: ['node20'],
    packages: 'external',
    sourcemap: true,
  });
  console.log('collector dist/collector.mjs');
}

mkdirSync('dist', { recursive: true });
if (only !== '--collector') await buildSnippet();
if (only !== '--snippet') await buildCollector();
