import { afterAll, describe, expect, it } from 'vitest';
import { openStorage } from '../../collector/storage/open.ts';
import { startCollector, stopped } from '../collector-process.ts';
import { tempDir } from '../helpers.ts';
import { ackedLoad, missingIds } from './load.ts';
import { adoptStorage, collectorEnv, createTestDatabaseFor } from '../support/backend.ts';

describe('graceful shutdown', () => {
  const tmp = tempDir();
  afterAll(() => tmp.cleanup());

  it('SIGTERM under load: requests in flight are answered, every acknowledged event stored, exit 0', async () => {
    const database = await createTestDatabaseFor(tmp.dir, 'term.db');
    const collector = await startCollector(collectorEnv(database));
    const load = ackedLoad(collector.url, { workers: 8, size: 3, prefix: 't' });
    // Under load: enough batches acknowledged (however long that takes on a busy machine).
    await load.acknowledged(150);
    collector.child.kill('SIGTERM');
    const code = await stopped(collector.child);
    await load.stop();
    expect(code).toBe(0);
    const storage = await openStorage(database.db);
    adoptStorage(storage, database.db);
    try {
      expect(load.acked.length).toBeGreaterThan(100);
      expect(await missingIds(storage, load.acked)).toEqual([]);
    } finally {
      await storage.close();
      await database.drop();
    }
  });
});
