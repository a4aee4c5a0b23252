/**
 * The Live page: a placeholder of the shell, replaced by the page's own module (branch dash-live).
 */
import { Hono } from 'hono';
import type { Deps } from '../../http/app.ts';
import type { DashEnv } from '../guard.ts';
import { Layout, page, pageSite } from '../layout.tsx';

export function livePage(deps: Deps) {
  const app = new Hono<DashEnv>();
  app.get('/dashboard/live', (c) => {
    const { site, refused } = pageSite(c, deps);
    if (refused) return refused;
    return page(
      c,
      <Layout title="Live" session={c.var.session} site={site.id} active="live">
        <p>This page is not built yet.</p>
      </Layout>,
    );
  });
  return app;
}
