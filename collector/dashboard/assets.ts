/**
 * The dashboard's client files, built by `node build.mjs` into `dist/dashboard/` (app.js: the
 * charts and live updates with uPlot bundled in; app.css: the styles with uPlot's). Served from
 * the collector itself: nothing comes from a CDN. Read on first request, so a collector started
 * without them (a test app) runs until a page asks.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Hono } from 'hono';

export const ASSET_FILES = { 'app.js': 'text/javascript', 'app.css': 'text/css' } as const;
type AssetName = keyof typeof ASSET_FILES;

interface Asset {
  body: Buffer;
  etag: string;
}

/** `dist/dashboard/NAME`, found from this module whether it runs from source or from `dist/`. */
function findAsset(name: AssetName): Asset | undefined {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    for (const file of [join(dir, 'dist', 'dashboard', name), join(dir, 'dashboard', name)]) {
      if (existsSync(file)) {
        const body = readFileSync(file);
        const etag = `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"`;
        return { body, etag };
      }
    }
    const parent = dirname(dir);
    if (parent === dir) return undefined;
    dir = parent;
  }
}

export function assetRoutes() {
  const app = new Hono();
  const kept = new Map<AssetName, Asset>();
  app.get('/dashboard/assets/:name', (c) => {
    const name = c.req.param('name') as AssetName;
    if (!(name in ASSET_FILES)) return c.text('no such asset', 404);
    let asset = kept.get(name);
    if (asset === undefined) {
      asset = findAsset(name);
      if (asset === undefined)
        return c.text(`dist/dashboard/${name} not found: run \`npm run build\` first`, 503);
      kept.set(name, asset);
    }
    c.header('Content-Type', `${ASSET_FILES[name]}; charset=utf-8`);
    c.header('ETag', asset.etag);
    c.header('Cache-Control', 'no-cache');
    if (c.req.header('if-none-match') === asset.etag) return c.body(null, 304);
    return c.body(new Uint8Array(asset.body));
  });
  return app;
}
