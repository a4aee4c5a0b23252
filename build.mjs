// Builds the browser snippet (one minified IIFE, gzip budget enforced), the collector (one ESM
// file, dependencies left external) and the dashboard's client files (dist/dashboard/: app.js with
// uPlot bundled in, app.css). `node build.mjs [--snippet|--collector|--dashboard|--sizes]`;
// `--sizes` prints what each snippet module costs, for the byte plan in docs/snippet.md. The SDK
// (`--sdk`: microseg/client, /hono, /express, /react) goes to dist/sdk/ with its types in dist/types/.
import { build } from 'esbuild';
import { execFileSync } from 'node:child_process';
import { minify } from 'terser';
import { gzipSync } from 'node:zlib';
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';

/**
 * The snippet's two scripts, each within its gzip budget: the size it reached, so that no change
 * adds bytes unnoticed. `ms.js` is the one tag a site pastes, every feature in (DESIGN.md's bar is
 * 1,536). `ms.rules.js` is the `data-ms-show` / `data-ms-hide` rule engine, which ms.js loads only
 * on a page that has a rule-carrying element (snippet/personalize.ts); docs/snippet.md, Size.
 */
export const SNIPPETS = [
  // `names`: the letters its local names are made of, in order (`node build.mjs --tune`, below).
  {
    entry: 'snippet/index.ts',
    file: 'ms.js',
    format: 'iife',
    budget: 1535,
    names: 'enrasiAUtmhdPgupLjkwvSbqfOETlyoRNCDJczBxV_FGHIKMQWXYZ$',
  },
  // A module: ms.js loads it with `import()`, and its top-level names stay its own.
  { entry: 'snippet/rules.ts', file: 'ms.rules.js', format: 'esm', budget: 306 },
  // Cookie mode (`data-cookie`), a module ms.js imports only on a page whose tag asks for it.
  { entry: 'snippet/cookie.ts', file: 'ms.cookie.js', format: 'esm', budget: 242 },
];

const only = process.argv[2];

const snippetOptions = {
  bundle: true,
  minify: true,
  // ES2021 writes `a ||= b` as it is; every browser with fetch keepalive has it.
  target: ['es2022'],
  // The bundle is one function: without strict mode it needs no "use strict" prologue, and no
  // module code relies on strict semantics (TypeScript's own checks stand in for them).
  tsconfigRaw: { compilerOptions: { alwaysStrict: false } },
  legalComments: 'none',
  mangleProps: /^_/,
  define: { 'process.env.NODE_ENV': '"production"' },
};

/**
 * A second pass over esbuild's output, as Plausible's tracker is minified: terser sees the bundle as
 * one program (`toplevel`), folds what esbuild leaves (a constant's own `var`, single-use helpers)
 * over several passes, and writes `function` expressions that do not use `this` as arrows.
 */
const terserOptions = {
  ecma: 2020,
  toplevel: true,
  compress: { passes: 3, unsafe_arrows: true },
  format: { comments: false },
};

/**
 * The names terser gives a script's local variables, from a fixed order of letters instead of its
 * own (letters by how often the rest of the code uses them): `n`-th name as terser's base54 makes
 * it (one letter, then two), reserved words skipped by terser itself. Which letter a name gets
 * changes nothing but how well gzip finds repeats (`e=>e.`, `(e,t)`, a name beside a property
 * that shares its letters): the order `--tune` found for ms.js is 11 bytes gzip smaller than
 * terser's (1,535 against 1,546). Not a stable gain, since any change of the code moves it: so the build keeps terser's
 * own names when they are smaller, and `--tune` looks again.
 */
const namesFrom = (letters) => {
  const rest = `${letters}0123456789`;
  return {
    get(n) {
      let name = letters[n % 54];
      for (let m = Math.floor(n / 54); m > 0; m = Math.floor(m / 64)) name += rest[--m % 64];
      return name;
    },
  };
};

/** esbuild then terser: the code, and (asked for `--sizes`) the source map back to the modules. */
async function bundleSnippet({ entry, file, format }, sourcemap, names) {
  const r = await build({
    ...snippetOptions,
    format,
    entryPoints: [entry],
    outfile: `dist/${file}`,
    write: false,
    sourcemap: sourcemap && 'external',
  });
  const js = r.outputFiles.find((f) => f.path.endsWith('.js')).text;
  const map = sourcemap ? r.outputFiles.find((f) => f.path.endsWith('.map')).text : undefined;
  const out = await minify(js, {
    ...terserOptions,
    module: format === 'esm',
    sourceMap: map && { content: map },
    mangle: names ? { nth_identifier: namesFrom(names) } : true,
  });
  return { code: out.code, map: out.map && JSON.parse(out.map) };
}

/** The smaller of the script with terser's names and with its `names` (their gzip sizes). */
async function smallestSnippet(snippet, sourcemap) {
  const own = await bundleSnippet(snippet, sourcemap);
  if (!snippet.names) return own;
  const named = await bundleSnippet(snippet, sourcemap, snippet.names);
  return gzip(named.code) < gzip(own.code) ? named : own;
}

/**
 * `--tune`: looks for the order of letters that makes a script's names gzip smallest, starting from
 * its `names` (scripts without them keep terser's): swaps of two letters, then one letter moved to
 * one of the first 30 places, kept while each saves a byte, until a whole round saves none. Prints
 * the order to put in `SNIPPETS` (several minutes: each try is a terser run).
 */
async function tuneSnippet(snippet) {
  if (!snippet.names) return;
  const size = async (letters) => gzip((await bundleSnippet(snippet, false, letters)).code);
  let best = [...snippet.names];
  let smallest = await size(best.join(''));
  console.log(
    `dist/${snippet.file}: terser's names ${gzip((await bundleSnippet(snippet, false)).code)}, from ${smallest}`,
  );
  const attempt = async (order) => {
    const gz = await size(order.join(''));
    if (gz >= smallest) return false;
    [smallest, best] = [gz, order];
    console.log(`${smallest} ${best.join('')}`);
    return true;
  };
  for (let improved = true; improved; ) {
    improved = false;
    for (let i = 0; i < best.length; i++) {
      for (let j = i + 1; j < best.length; j++) {
        const order = best.slice();
        [order[i], order[j]] = [order[j], order[i]];
        if (await attempt(order)) improved = true;
      }
    }
    for (let i = 0; i < best.length; i++) {
      for (let j = 0; j < 30; j++) {
        const order = best.slice();
        order.splice(j, 0, ...order.splice(i, 1));
        if (i !== j && (await attempt(order))) improved = true;
      }
    }
  }
  console.log(`dist/${snippet.file}: ${smallest} bytes gzip with names: '${best.join('')}'`);
}

const gzip = (code) => gzipSync(code, { level: 9 }).length;

async function buildSnippet(snippet) {
  const { code } = await smallestSnippet(snippet, false);
  const { file, budget } = snippet;
  writeFileSync(`dist/${file}`, code);
  const gz = gzip(code);
  console.log(`snippet dist/${file}: ${code.length} bytes, ${gz} bytes gzip (budget ${budget})`);
  if (gz > budget) {
    console.error(`snippet dist/${file} over budget by ${gz - budget} bytes gzip`);
    process.exit(1);
  }
}

/**
 * Per module: its minified bytes (the output characters the source map gives it) and its gzip share,
 * the bundle's gzip size minus that of the bundle with the module's characters taken out. Shares
 * do not add up to the total: gzip also pays for context between modules.
 */
async function snippetSizes(snippet) {
  const { decode } = createRequire(import.meta.url)('@jridgewell/sourcemap-codec');
  const { code: js, map } = await smallestSnippet(snippet, true);
  const lines = js.split('\n');
  // The source index of every output character (-1: no source, e.g. the IIFE wrapper).
  const owner = decode(map.mappings).map((segs, i) => {
    const o = new Array(lines[i].length).fill(-1);
    for (const [j, s] of segs.entries()) {
      o.fill(s.length > 1 ? s[1] : -1, s[0], segs[j + 1]?.[0] ?? o.length);
    }
    return o;
  });
  const total = gzip(js);
  const rows = map.sources.map((src, si) => {
    const without = lines
      .map((l, i) => [...l].filter((_, c) => owner[i][c] !== si).join(''))
      .join('\n');
    const name = src.replace(/^(\.\.\/)+/, '');
    const min = owner.reduce((n, o) => n + o.filter((x) => x === si).length, 0);
    return [name, min, total - gzip(without)];
  });
  rows.sort((a, b) => b[2] - a[2]);
  console.log(`dist/${snippet.file}`);
  const row = (name, min, gz) =>
    `${name.padEnd(24)} ${String(min).padStart(5)} min ${String(gz).padStart(5)} gzip`;
  for (const r of rows) console.log(row(...r));
  console.log(row('total', js.length, total));
}

async function buildCollector() {
  await build({
    // The goal training's child process is a file of its own beside the collector (goals/trainer.ts).
    entryPoints: {
      collector: 'collector/main.ts',
      'goals-trainer': 'collector/goals/train-process.ts',
    },
    outdir: 'dist',
    outExtension: { '.js': '.mjs' },
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: ['node20'],
    packages: 'external',
    sourcemap: true,
  });
  console.log('collector dist/collector.mjs, dist/goals-trainer.mjs');
}

/**
 * The dashboard's one script and one stylesheet, served by the collector at /dashboard/assets/:
 * uPlot is bundled in (nothing from a CDN). A page's client code is a module imported by
 * collector/dashboard/client/main.ts.
 */
async function buildDashboard() {
  mkdirSync('dist/dashboard', { recursive: true });
  await build({
    entryPoints: {
      app: 'collector/dashboard/client/main.ts',
      'app-style': 'collector/dashboard/client/style.css',
    },
    outdir: 'dist/dashboard',
    bundle: true,
    minify: true,
    format: 'iife',
    target: ['es2022'],
    legalComments: 'none',
  });
  renameSync('dist/dashboard/app-style.css', 'dist/dashboard/app.css');
  console.log('dashboard dist/dashboard/app.js, app.css');
}

/** The package's entry points besides the CLI (package.json `exports`), each `sdk/NAME.ts`. */
export const SDK_ENTRIES = ['client', 'cookie', 'hono', 'express', 'react'];

/**
 * The SDK as ESM for any runtime with `fetch` (Node 20, Deno, Bun, edge workers): one file per
 * entry point, code they share in chunks, `hono` and `react` left to the app's own copy. Its
 * `.d.ts` types come from tsc (tsconfig.sdk.json); their imports name `.ts` files as the source
 * does, written `.js` here so a consumer's TypeScript resolves them to the `.d.ts` beside.
 */
async function buildSdk() {
  rmSync('dist/sdk', { recursive: true, force: true });
  rmSync('dist/types', { recursive: true, force: true });
  await build({
    entryPoints: SDK_ENTRIES.map((e) => `sdk/${e}.ts`),
    outdir: 'dist/sdk',
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'neutral',
    target: ['es2022'],
    external: ['hono', 'hono/*', 'react'],
  });
  execFileSync(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.sdk.json'], {
    stdio: 'inherit',
  });
  for (const dir of ['dist/types/sdk', 'dist/types/shared']) {
    for (const f of readdirSync(dir)) {
      const path = `${dir}/${f}`;
      const text = readFileSync(path, 'utf8');
      writeFileSync(path, text.replace(/(from '\.{1,2}\/[^']+)\.ts'/g, "$1.js'"));
    }
  }
  console.log('sdk dist/sdk/, types dist/types/');
}

mkdirSync('dist', { recursive: true });
if (only === '--sdk') await buildSdk();
else if (only === '--sizes') for (const s of SNIPPETS) await snippetSizes(s);
else if (only === '--tune') for (const s of SNIPPETS) await tuneSnippet(s);
else if (only === '--dashboard') await buildDashboard();
else {
  if (only !== '--collector') for (const s of SNIPPETS) await buildSnippet(s);
  if (only !== '--snippet') {
    await buildCollector();
    await buildDashboard();
  }
  if (only === undefined) await buildSdk();
}
