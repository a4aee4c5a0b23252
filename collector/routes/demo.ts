/** `GET /demo`: a small shop that loads the snippet and shows the live segment. */
import { Hono } from 'hono';
import type { Deps } from '../app.ts';
import { demoPage } from '../demo/page.ts';

export function demoRoutes(_deps: Deps) {
  const app = new Hono();
  app.get('/demo', (c) => c.redirect('/demo/', 301));
  app.get('/demo/*', (c) => c.html(demoPage(new URL(c.req.url).origin)));
  return app;
}
