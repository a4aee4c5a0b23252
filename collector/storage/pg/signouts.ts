/**
 * Dashboard sign-outs of the PostgreSQL backend (`dashboard_signouts`), the port of
 * sqlite/signouts.ts: a session signed out in one process is refused by every other.
 */
import type { Queryable } from './db.ts';

export function signoutsPg(q: Queryable) {
  return {
    async signedOut(id: string) {
      const { rows } = await q.query({
        name: 'microseg_signouts_has',
        text: 'SELECT 1 FROM dashboard_signouts WHERE id = $1',
        values: [id],
      });
      return rows.length > 0;
    },
    async signOut(id: string, exp: number) {
      await q.query({
        name: 'microseg_signouts_add',
        text: 'INSERT INTO dashboard_signouts (id, exp) VALUES ($1, $2) ON CONFLICT (id) DO NOTHING',
        values: [id, exp],
      });
    },
    async pruneSignouts(now: number, limit: number) {
      const r = await q.query({
        name: 'microseg_signouts_prune',
        text: `DELETE FROM dashboard_signouts WHERE id IN
                 (SELECT id FROM dashboard_signouts WHERE exp <= $1 LIMIT $2)`,
        values: [now, limit],
      });
      return r.rowCount ?? 0;
    },
  };
}
