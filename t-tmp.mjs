import { build } from 'esbuild';
import { minify } from 'terser';
import { gzipSync } from 'node:zlib';
const g = (s) => gzipSync(s, { level: 9 }).length;
const base = { entryPoints: ['snippet/index.ts'], bundle: true, format: 'iife', target: ['es2022'], write: false,
  tsconfigRaw: { compilerOptions: { alwaysStrict: false } }, legalComments: 'none', mangleProps: /^_/ };
const variants = {
  min: { ...base, minify: true },
  nomin: { ...base, minifySyntax: true },
  raw: { ...base },
};
for (const [n, o] of Object.entries(variants)) {
  const js = (await build(o)).outputFiles[0].text;
  for (const [tn, to] of Object.entries({
    cur: { ecma: 2020, toplevel: true, compress: { passes: 3, unsafe_arrows: true } },
    p5: { ecma: 2020, toplevel: true, compress: { passes: 5, unsafe_arrows: true } },
    unsafe: { ecma: 2020, toplevel: true, compress: { passes: 3, unsafe_arrows: true, unsafe: true, unsafe_methods: true, unsafe_comps: true, pure_getters: true } },
    noinline: { ecma: 2020, toplevel: true, compress: { passes: 3, unsafe_arrows: true, inline: 1 } },
    noreduce: { ecma: 2020, toplevel: true, compress: { passes: 3, unsafe_arrows: true, reduce_funcs: false } },
    nocollapse: { ecma: 2020, toplevel: true, compress: { passes: 3, unsafe_arrows: true, collapse_vars: false, reduce_vars: false} },
    hoist: { ecma: 2020, toplevel: true, compress: { passes: 3, unsafe_arrows: true, hoist_props: true, hoist_vars: true } },
  })) {
    const r = await minify(js, to); console.log(n, tn, g(r.code), r.code.length);
  }
}
