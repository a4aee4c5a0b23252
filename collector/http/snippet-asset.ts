/** The built snippets held in memory, each with its gzip form and a content hash for validation. */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

export interface SnippetAsset {
  code: Buffer;
  gzip: Buffer;
  etag: string;
}

/**
 * The snippet's scripts (build.mjs `SNIPPETS`), served at `/<file>`: `ms.js`, the tag a site
 * pastes; `ms.rules.js`, the `data-ms-show` / `data-ms-hide` rules, which ms.js loads from beside
 * itself on a page that has a rule-carrying element; `ms.cookie.js`, cookie mode, which it loads
 * when its tag has `data-cookie`.
 */
export const SNIPPET_FILES = ['ms.js', 'ms.rules.js', 'ms.cookie.js'] as const;
export type SnippetFile = (typeof SNIPPET_FILES)[number];
export type Snippets = Record<SnippetFile, SnippetAsset>;

export function snippetAsset(code: Buffer | string): SnippetAsset {
  const buf = Buffer.from(code);
  return {
    code: buf,
    gzip: gzipSync(buf, { level: 9 }),
    etag: `"${createHash('sha256').update(buf).digest('base64url').slice(0, 22)}"`,
  };
}

/** Every script with the same stand-in code (its file name in a comment): for tests that serve no snippet. */
export const placeholderSnippets = (): Snippets =>
  Object.fromEntries(SNIPPET_FILES.map((f) => [f, snippetAsset(`/*${f}*/`)])) as Snippets;

/** One script from `dist/`, found from this module whether it runs from source or from `dist/`. */
function loadSnippet(file: SnippetFile): SnippetAsset {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const built = join(dir, 'dist', file);
    if (existsSync(built)) return snippetAsset(readFileSync(built));
    const same = join(dir, file);
    if (existsSync(same)) return snippetAsset(readFileSync(same));
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`dist/${file} not found: run \`npm run build\` first`);
    dir = parent;
  }
}

/** Every script of the snippet, from `dist/`. */
export const loadSnippets = (): Snippets =>
  Object.fromEntries(SNIPPET_FILES.map((f) => [f, loadSnippet(f)])) as Snippets;
