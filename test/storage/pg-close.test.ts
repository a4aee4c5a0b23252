/**
 * The PostgreSQL storage lets go of its sessions for real: `close()` resolves once the server has
 * ended every one of its connections (pg's `pool.end()` alone resolves before they are closed), so
 * a `DROP DATABASE … WITH (FORCE)` right after, as the test support does, terminates nobody — a
 * terminated client would emit `error` after the close, an uncaught exception where nobody
 * listens. And a member export paused between two rows survives the server ending its session:
 * the next read fails, the process goes on. Against the run's throwaway server; skipped when
 * PostgreSQL is not installed.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { openStorage } from '../../collector/storage/open.ts';
import { createTestDatabase, pgTestDatabase } from '../support/pg-database.ts';
import { T0 } from '../temp.ts';
import { engine, eventsWith } from './pg-fixtures.ts';

const pgUrl = inject('pgUrl');
const ev = eventsWith('close');

describe.skipIf(!pgUrl)('PostgreSQL storage close', () => {
  /** Connected before the storage closes: the DROP goes out the moment close() resolves. */
  let admin: pg.Client;
  beforeAll(async () => {
    admin = new pg.Client({ connectionString: pgUrl });
    await admin.connect();
  });
  afterAll(async () => {
    await admin?.end();
  });

  it('resolves close() with no session left on the server: a DROP … FORCE after it ends nobody', async () => {
    // A few rounds: without the wait, some connection of each round was seen still open.
    for (let round = 0; round < 5; round++) {
      const db = await createTestDatabase();
      const name = new URL(db.url).pathname.slice(1);
      const errors: string[] = [];
      const storage = await openStorage(db.url, {
        poolSize: 4,
        onPoolError: (m) => errors.push(m),
      });
      const led = storage.lead('close-test', { retryMs: 50 });
      await led.ready;
      expect(led.held).toBe(true);
      // Every connection of the pool opened, then a job still running when close() is called.
      await Promise.all(['a', 'b', 'c', 'd'].map((v) => storage.countEvents('s', v)));
      const job = storage.write((tx) => tx.ingest('s', `v${round}`, [ev()], engine, T0));
      await storage.close();
      await expect(job).resolves.toMatchObject({ accepted: 1 });

      const left = await admin.query<{ n: number }>(
        'SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = $1',
        [name],
      );
      expect(left.rows[0]?.n).toBe(0);
      await admin.query(`DROP DATABASE "${name}" WITH (FORCE)`);
      // Time for a terminated session's error to reach its client, had there been one.
      await new Promise((r) => setTimeout(r, 50));
      expect(errors).toEqual([]);
    }
  });

  describe('a member export paused between two rows', () => {
    const db = pgTestDatabase();
    it('fails its next read when the server ends its session, and the process goes on', async () => {
      const storage = await openStorage(db.url, { poolSize: 2, onPoolError: () => {} });
      try {
        // More members than one FETCH reads (audience.ts BATCH, 500): a second FETCH is needed.
        const direct = new pg.Client({ connectionString: db.url });
        await direct.connect();
        try {
          await direct.query(
            `INSERT INTO profiles (site, visitor, first_seen, last_seen, updated, segment, data)
             SELECT 's', 'm' || g, 0, 0, 0, 'newbie:cameras:cold', '{}' FROM generate_series(1, 501) g`,
          );
        } finally {
          await direct.end();
        }
        const rows = storage.members('s', { kind: 'key', pattern: '*' })[Symbol.asyncIterator]();
        expect((await rows.next()).done).toBe(false);
        // The export's session sits idle in its transaction while the consumer has the row.
        const name = new URL(db.url).pathname.slice(1);
        const ended = await admin.query<{ ok: boolean }>(
          `SELECT pg_terminate_backend(pid) AS ok FROM pg_stat_activity
            WHERE datname = $1 AND state = 'idle in transaction'`,
          [name],
        );
        expect(ended.rows.map((r) => r.ok)).toEqual([true]);
        // The server's message reaches the paused client (with no listener: an uncaught error).
        await new Promise((r) => setTimeout(r, 100));
        // The rows already read are still handed out; the next FETCH fails with the server's error.
        let read = 1;
        const rest = (async () => {
          for (let r = await rows.next(); !r.done; r = await rows.next()) read++;
        })();
        await expect(rest).rejects.toMatchObject({ code: '57P01' });
        expect(read).toBe(500);
        // The broken connection was not given back: the storage still reads.
        expect(await storage.sitesWithProfiles()).toEqual(['s']);
      } finally {
        await storage.close();
      }
    });
  });
});
