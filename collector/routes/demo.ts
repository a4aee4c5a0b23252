/** `GET /demo`: a small shop that loads the snippet and shows the live segment. */
import { Hono } from 'hono';
import type { Deps } from '../app.ts';
import { demoPage } from '../demo/page.ts';

export function demoRoutes(_deps: Deps) {
  const app = new Hono();
  app.get('/demo', (c) => c.redirect('/demo/', 301));
  // Every view is an SPA route of one document, so a reload or a shared link lands on the right view.
  app.get('/demo/*', (c) => {
    const { status, html } = demoPage(c.req.path);
    return c.html(html, status);
  });
  return app;
}
