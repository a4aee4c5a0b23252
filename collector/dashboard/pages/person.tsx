/** The person page: one visitor (or contact), why they are in their segment, and their history. */
import { Hono } from 'hono';
import type { Deps } from '../../http/app.ts';
import type { DashEnv } from '../guard.ts';
import { Layout, page, pageSite } from '../layout.tsx';

export function personPage(deps: Deps) {
  const app = new Hono<DashEnv>();
  app.get('/dashboard/visitors/:id', (c) => {
    const { site, refused } = pageSite(c, deps);
    if (refused) return refused;
    return page(
      c,
      <Layout title={`Visitor ${c.req.param('id')}`} session={c.var.session} site={site.id}>
        <p>Coming next.</p>
      </Layout>,
    );
  });
  return app;
}
