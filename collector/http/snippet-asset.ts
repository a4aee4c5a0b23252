/** The built snippet held in memory with its gzip form and a content hash for validation. */
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

export function snippetAsset(code: Buffer | string): SnippetAsset {
  const buf = Buffer.from(code);
  return {
    code: buf,
    gzip: gzipSync(buf, { level: 9 }),
    etag: `"${createHash('sha256').update(buf).digest('base64url').slice(0, 22)}"`,
  };
}

/** `dist/ms.js`, found from this module whether it runs from source or from `dist/`. */
export function loadSnippet(): SnippetAsset {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const file = join(dir, 'dist', 'ms.js');
    if (existsSync(file)) return snippetAsset(readFileSync(file));
    const same = join(dir, 'ms.js');
    if (existsSync(same)) return snippetAsset(readFileSync(same));
    const parent = dirname(dir);
    if (parent === dir) throw new Error('dist/ms.js not found: run `npm run build` first');
    dir = parent;
  }
}
