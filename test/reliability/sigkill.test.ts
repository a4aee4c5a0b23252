import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openStorage } from '../../collector/storage.ts';
import { startCollector, stopped } from '../collector-process.ts';
import { tempDir } from '../helpers.ts';

describe('durability under SIGKILL', () => {
  const tmp = tempDir();
  afterAll(() => tmp.cleanup());

  it('every acknowledged event is in the database after a kill mid-load', async () => {
    const db = join(tmp.dir, 'kill.db');
    const collector = await startCollector({ MICROSEG_DB: db });
    const acked: string[] = [];
    let sent = 0;
    let stop = false;
    const sender = async (w: number) => {
      for (let i = 0; !stop; i++) {
        const events = Array.from({ length: 5 }, (_, k) => ({ id: `w${w}b${i}e${k}`, type: 'page_view', ts: Date.now(), category: 'cameras' }));
        sent += events.length;
        try {
          const res = await fetch(`${collector.url}/v1/collect`, {
            method: 'POST',
            body: JSON.stringify({ site: 'demo', visitor: `w${w}`, events }),
          });
          if (res.status === 200) {
            const body = (await res.json()) as { accepted: number };
            expect(body.accepted).toBe(5);
            acked.push(...events.map((e) => e.id));
          }
        } catch {
          return; // the collector is gone
        }
      }
    };
    const workers = Array.from({ length: 16 }, (_, w) => sender(w));
    await new Promise((r) => setTimeout(r, 1500));
    collector.child.kill('SIGKILL');
    stop = true;
    await Promise.all(workers);
    await stopped(collector.child);

    const storage = openStorage(db);
    try {
      const has = storage.db.$client.prepare("select 1 from events where site='demo' and id=?").pluck();
      const missing = acked.filter((id) => !has.get(id));
      const stored = storage.countEvents('demo');
      console.log(`SIGKILL: ${sent} sent, ${acked.length} acknowledged, ${stored} stored, ${missing.length} acknowledged but missing`);
      expect(acked.length).toBeGreaterThan(500);
      expect(missing).toEqual([]);
      expect(stored).toBeGreaterThanOrEqual(acked.length);
      // Profiles agree with the events that were committed: each visitor counted exactly once per event.
      const rows = storage.db.$client.prepare("select visitor, count(*) n from events where site='demo' group by visitor").all() as { visitor: string; n: number }[];
      for (const r of rows) expect(storage.profile('demo', r.visitor)!.profile.count).toBe(r.n);
    } finally {
      storage.close();
    }
  });
});
