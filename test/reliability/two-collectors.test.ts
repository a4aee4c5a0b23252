/**
 * Two collector processes (`dist/collector.mjs serve`) on one PostgreSQL database, as an operator
 * runs them behind a load balancer: batches of the same visitors through both add up exactly, a
 * commit through one is read at once through the other, and a SIGKILL of one mid-load loses
 * nothing it acknowledged and counts nothing twice. Skipped when PostgreSQL is not installed.
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { Segment } from '../../shared/segment.ts';
import type { Storage } from '../../collector/storage/contract.ts';
import { openStorage } from '../../collector/storage/open.ts';
import { adoptStorage, PG_TEST_SECRET, rows } from '../support/backend.ts';
import { createTestDatabase } from '../support/pg-database.ts';
import { type CollectorProcess, startCollector, stopped } from '../collector-process.ts';
import { ackedLoad, missingIds } from './load.ts';

const pgUrl = inject('pgUrl');
const API_KEY = 'two-collectors-api-key-0123';

/** Every visitor's profile counts exactly its stored events: none lost, none counted twice. */
async function expectProfilesExact(storage: Storage): Promise<number> {
  const perVisitor = await rows<{ visitor: string; n: number }>(
    storage,
    "select visitor, count(*) as n from events where site = 'demo' group by visitor",
  );
  for (const r of perVisitor) {
    expect((await storage.profile('demo', r.visitor))?.profile.count, r.visitor).toBe(r.n);
  }
  return perVisitor.length;
}

describe.skipIf(!pgUrl)('two collectors on one PostgreSQL', () => {
  let db: { url: string; drop(): Promise<void> };
  let a: CollectorProcess;
  let b: CollectorProcess;
  let storage: Storage;
  const env = () => ({
    MICROSEG_DB: db.url,
    MICROSEG_SECRET: PG_TEST_SECRET,
    MICROSEG_API_KEY: API_KEY,
  });

  beforeAll(async () => {
    db = await createTestDatabase();
    // Both start on an empty database at once: the migrations run once (an advisory lock).
    [a, b] = await Promise.all([startCollector(env()), startCollector(env())]);
    storage = await openStorage(db.url);
    adoptStorage(storage, db.url);
  }, 60_000);
  afterAll(async () => {
    for (const c of [a, b]) c?.child.kill('SIGKILL');
    await storage?.close();
    await db?.drop();
  });

  const segmentOf = async (c: CollectorProcess, visitor: string): Promise<Segment> => {
    const res = await fetch(`${c.url}/v1/segment?site=demo&visitor=${visitor}`);
    expect(res.status).toBe(200);
    return (await res.json()) as Segment;
  };

  it('reads through one what the other just committed, its cache warm', async () => {
    for (let i = 1; i <= 15; i++) {
      await segmentOf(b, 'seen'); // B holds the visitor's profile parsed
      const res = await fetch(`${a.url}/v1/collect`, {
        method: 'POST',
        body: JSON.stringify({
          site: 'demo',
          visitor: 'seen',
          events: [{ id: `seen${i}`, type: 'page_view', ts: Date.now(), category: `c${i}` }],
        }),
      });
      expect(res.status).toBe(200);
      const seg = await segmentOf(b, 'seen');
      expect(Object.keys(seg.affinity), `after event ${i}`).toContain(`c${i}`);
    }
  });

  it('a rule saved through one is in force in the other within its check (1 s), no restart', async () => {
    const events = [1, 2, 3].map((i) => ({
      id: `rule${i}`,
      type: 'page_view',
      ts: Date.now() - i * 1000,
      category: 'cameras',
    }));
    const res = await fetch(`${a.url}/v1/collect`, {
      method: 'POST',
      body: JSON.stringify({ site: 'demo', visitor: 'ruled', events }),
    });
    expect(res.status).toBe(200);
    expect((await segmentOf(b, 'ruled')).segments).toEqual([]); // B's memo warm, without it
    const saved = Date.now();
    const put = await fetch(`${a.url}/v1/rules/cam3?site=demo`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${API_KEY}` },
      body: JSON.stringify({
        when: { count: { type: 'page_view', category: 'cameras', within: '7d' }, gte: 3 },
      }),
    });
    expect(put.status).toBe(201);
    // The process that saved it: at the next request.
    expect((await segmentOf(a, 'ruled')).segments).toEqual(['cam3']);
    // The other: within its check interval (RULES_CHECK_MS) and a read.
    let seen = 0;
    while (seen === 0 && Date.now() - saved < 5000) {
      if ((await segmentOf(b, 'ruled')).segments.includes('cam3')) seen = Date.now();
      else await new Promise((r) => setTimeout(r, 50));
    }
    expect(seen, 'B never showed the rule').toBeGreaterThan(0);
    expect(seen - saved).toBeLessThan(2500);
    const list = await fetch(`${b.url}/v1/rules?site=demo`, {
      headers: { authorization: `Bearer ${API_KEY}` },
    });
    expect(((await list.json()) as { rules: { name: string }[] }).rules.map((r) => r.name)).toEqual(
      ['cam3'],
    );
  });

  it('adds up batches of the same visitors sent through both at once, exactly', async () => {
    const shared = (w: number) => `shared${w % 6}`;
    const loads = [
      ackedLoad(a.url, { workers: 12, size: 3, prefix: 'xa', visitor: shared }),
      ackedLoad(b.url, { workers: 12, size: 3, prefix: 'xb', visitor: shared }),
    ];
    await Promise.all(loads.map((l) => l.acknowledged(600)));
    await Promise.all(loads.map((l) => l.stop()));
    for (const l of loads) expect(l.partial).toEqual([]);
    const acked = loads.flatMap((l) => l.acked);
    expect(await missingIds(storage, acked)).toEqual([]);
    const counted = await rows<{ n: number }>(
      storage,
      "select count(*) as n from events where site = 'demo' and visitor like 'shared%'",
    );
    // Nothing was killed: every batch sent was answered, so stored and acknowledged agree.
    expect(counted[0]?.n).toBe(acked.length);
    await expectProfilesExact(storage);
  }, 120_000);

  it('loses nothing acknowledged and counts nothing twice when one is killed mid-load', async () => {
    const shared = (w: number) => `killed${w % 6}`;
    const onA = ackedLoad(a.url, { workers: 12, size: 4, prefix: 'ka', visitor: shared });
    const onB = ackedLoad(b.url, { workers: 12, size: 4, prefix: 'kb', visitor: shared });
    await onA.acknowledged(400);
    a.child.kill('SIGKILL');
    await onA.stop();
    await stopped(a.child);
    // B goes on with the same visitors, whose locks A's connections held when it died.
    const before = onB.acked.length;
    await onB.acknowledged(before + 200);
    await onB.stop();
    const acked = [...onA.acked, ...onB.acked];
    expect(await missingIds(storage, acked)).toEqual([]);
    const stored = await storage.countEvents('demo');
    expect(stored).toBeGreaterThanOrEqual(acked.length);
    expect(await expectProfilesExact(storage)).toBeGreaterThan(0);
  }, 120_000);
});
