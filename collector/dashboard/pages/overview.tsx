/** The Overview page. */
import { Hono } from 'hono';
import type { Deps } from '../../http/app.ts';
import type { DashEnv } from '../guard.ts';
import { Layout, page, pageSite } from '../layout.tsx';

export function overviewPage(deps: Deps) {
  const app = new Hono<DashEnv>();
  app.get('/dashboard/', (c) => {
    const { site, refused } = pageSite(c, deps);
    if (refused) return refused;
    return page(
      c,
      <Layout title="Overview" session={c.var.session} site={site.id} active="overview">
        <p>Coming next.</p>
      </Layout>,
    );
  });
  return app;
}
