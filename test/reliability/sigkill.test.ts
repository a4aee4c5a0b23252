import { afterAll, describe, expect, it } from 'vitest';
import { openStorage } from '../../collector/storage/open.ts';
import { adoptStorage, collectorEnv, createTestDatabaseFor, rows } from '../support/backend.ts';
import { startCollector, stopped } from '../collector-process.ts';
import { tempDir } from '../helpers.ts';
import { ackedLoad, missingIds } from './load.ts';

describe('durability under SIGKILL', () => {
  const tmp = tempDir();
  afterAll(() => tmp.cleanup());

  it('every acknowledged event is in the database after a kill mid-load', async () => {
    const database = await createTestDatabaseFor(tmp.dir, 'kill.db');
    const collector = await startCollector(collectorEnv(database));
    const load = ackedLoad(collector.url, {
      workers: 16,
      size: 5,
      prefix: 'w',
      category: 'cameras',
    });
    // Mid-load: enough batches acknowledged (however long that takes on a busy machine).
    await load.acknowledged(600);
    collector.child.kill('SIGKILL');
    await load.stop();
    await stopped(collector.child);

    const storage = await openStorage(database.db);
    adoptStorage(storage, database.db);
    try {
      const missing = await missingIds(storage, load.acked);
      const stored = await storage.countEvents('demo');
      console.log(
        `SIGKILL: ${load.sent} sent, ${load.acked.length} acknowledged, ${stored} stored, ${missing.length} acknowledged but missing`,
      );
      expect(load.partial).toEqual([]);
      expect(load.acked.length).toBeGreaterThan(500);
      expect(missing).toEqual([]);
      expect(stored).toBeGreaterThanOrEqual(load.acked.length);
      // Profiles agree with the events that were committed: each visitor counted exactly once per event.
      const perVisitor = await rows<{ visitor: string; n: number }>(
        storage,
        "select visitor, count(*) as n from events where site='demo' group by visitor",
      );
      for (const r of perVisitor)
        expect((await storage.profile('demo', r.visitor))!.profile.count).toBe(r.n);
    } finally {
      await storage.close();
      await database.drop();
    }
  });
});
