/** `GET /ms.js`: the snippet, cached long by browsers and CDNs, revalidated by ETag. */
import { Hono } from 'hono';
import type { Deps } from '../app.ts';

export function assetRoutes(deps: Deps) {
  const app = new Hono();
  app.get('/ms.js', (c) => {
    const { code, gzip, etag } = deps.snippet;
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
