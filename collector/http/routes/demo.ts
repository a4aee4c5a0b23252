/** `GET /demo`: a small shop that loads the snippet and shows the live segment. */
import { Hono } from 'hono';
import type { Deps } from '../app.ts';
import { demoPage } from '../../demo/page.ts';

/**
 * Served only when the config has a `demo` site (the zero-config default has it): the page sends
 * events to that site, so without one it would only be a page any visitor of the collector's
 * address could load, filing nothing.
 */
export function demoRoutes(deps: Deps) {
  const app = new Hono();
  if (!deps.config.sites.has('demo')) return app;
  app.get('/demo', (c) => c.redirect('/demo/', 301));
  // Every view is an SPA route of one document, so a reload or a shared link lands on the right view.
  app.get('/demo/*', (c) => {
    const { status, html } = demoPage(c.req.path);
    return c.html(html, status);
  });
  return app;
}
