import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openStorage } from '../../collector/storage.ts';
import { startCollector, stopped } from '../collector-process.ts';
import { tempDir } from '../helpers.ts';

describe('graceful shutdown', () => {
  const tmp = tempDir();
  afterAll(() => tmp.cleanup());

  it('SIGTERM under load: requests in flight are answered, every acknowledged event stored, exit 0', async () => {
    const db = join(tmp.dir, 'term.db');
    const collector = await startCollector({ MICROSEG_DB: db });
    const acked: string[] = [];
    let stop = false;
    const sender = async (w: number) => {
      for (let i = 0; !stop; i++) {
        const events = Array.from({ length: 3 }, (_, k) => ({ id: `t${w}b${i}e${k}`, type: 'page_view', ts: Date.now() }));
        try {
          const res = await fetch(`${collector.url}/v1/collect`, { method: 'POST', body: JSON.stringify({ site: 'demo', visitor: `t${w}`, events }) });
          if (res.status === 200) acked.push(...events.map((e) => e.id));
        } catch {
          return;
        }
      }
    };
    const workers = Array.from({ length: 8 }, (_, w) => sender(w));
    await new Promise((r) => setTimeout(r, 800));
    collector.child.kill('SIGTERM');
    const code = await stopped(collector.child);
    stop = true;
    await Promise.all(workers);
    expect(code).toBe(0);
    const storage = openStorage(db);
    try {
      const has = storage.db.$client.prepare('select 1 from events where id=?').pluck();
      expect(acked.length).toBeGreaterThan(100);
      expect(acked.filter((id) => !has.get(id))).toEqual([]);
    } finally {
      storage.close();
    }
  });
});
