/**
 * `GET /ms.js`, `GET /ms.rules.js` (the rules, which ms.js loads on pages that have some) and
 * `GET /ms.cookie.js` (cookie mode, loaded by a tag with `data-cookie`): the snippet's scripts, cached long by browsers and CDNs, revalidated by ETag.
 */
import { Hono } from 'hono';
import type { Deps } from '../app.ts';
import { SNIPPET_FILES } from '../snippet-asset.ts';

export function assetRoutes(deps: Deps) {
  const app = new Hono();
  for (const file of SNIPPET_FILES)
    app.get(`/${file}`, (c) => {
      const { code, gzip, etag } = deps.snippets[file];
      c.header('ETag', etag);
      c.header('Cache-Control', 'public, max-age=86400, stale-while-revalidate=604800');
      c.header('Vary', 'Accept-Encoding');
      c.header('Access-Control-Allow-Origin', '*');
      if (c.req.header('if-none-match') === etag) return c.body(null, 304);
      c.header('Content-Type', 'text/javascript; charset=utf-8');
      if (/\bgzip\b/.test(c.req.header('accept-encoding') ?? '')) {
        c.header('Content-Encoding', 'gzip');
        return c.body(new Uint8Array(gzip));
      }
      return c.body(new Uint8Array(code));
    });
  return app;
}
