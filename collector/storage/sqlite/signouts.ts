/**
 * Dashboard sign-outs of the SQLite backend (`dashboard_signouts`): a session signed out before
 * its expiry is refused by every process on the database (collector/dashboard/guard.ts).
 */
import type Database from 'better-sqlite3';

export function signoutStore(sqlite: Database.Database) {
  const has = sqlite.prepare<[string], { n: number }>(
    'SELECT 1 AS n FROM dashboard_signouts WHERE id = ?',
  );
  const add = sqlite.prepare<[string, number]>(
    'INSERT INTO dashboard_signouts (id, exp) VALUES (?, ?) ON CONFLICT (id) DO NOTHING',
  );
  const prune = sqlite.prepare<[number, number]>(
    `DELETE FROM dashboard_signouts WHERE id IN
       (SELECT id FROM dashboard_signouts WHERE exp <= ? LIMIT ?)`,
  );
  return {
    signedOut: async (id: string) => has.get(id) !== undefined,
    signOut: async (id: string, exp: number) => void add.run(id, exp),
    pruneSignouts: async (now: number, limit: number) => prune.run(now, limit).changes,
  };
}
