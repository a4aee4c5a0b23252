/**
 * The PostgreSQL segment read path (collector/storage/pg/reads.ts): reads grouped into one
 * statement, and a read cache whose every use the server confirms. Two storages on one database
 * play two collector processes: what one commits, the other's very next read shows, however warm
 * its cache. Against the run's throwaway server; skipped when PostgreSQL is not installed.
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { parseConfig } from '../../collector/config/config.ts';
import type { NewEvent, Storage } from '../../collector/storage/contract.ts';
import { openStorage } from '../../collector/storage/open.ts';
import { endPool } from '../../collector/storage/pg/pool.ts';
import { pgReadPath } from '../../collector/storage/pg/reads.ts';
import { pgTestDatabase, testPool } from '../support/pg-database.ts';
import { DAY, T0 } from '../temp.ts';

const config = parseConfig({ sites: { s: {} } });
const engine = config.sites.get('s')?.engine ?? (undefined as never);

let n = 0;
const ev = (over: Partial<NewEvent> = {}): NewEvent => ({
  id: `r${++n}`,
  type: 'page_view',
  ts: T0,
  category: 'a',
  ...over,
});

const pgUrl = inject('pgUrl');

describe.skipIf(!pgUrl)('PostgreSQL segment reads', () => {
  const db = pgTestDatabase();
  /** Two collectors on one database: `a` writes, `b` reads (and caches). */
  let a: Storage;
  let b: Storage;
  beforeAll(async () => {
    a = await openStorage(db.url, { poolSize: 4 });
    b = await openStorage(db.url, { poolSize: 4 });
  });
  afterAll(async () => {
    await a?.close();
    await b?.close();
  });

  const ingest = (s: Storage, visitor: string, events: NewEvent[], now = T0) =>
    s.write((tx) => tx.ingest('s', visitor, events, engine, now));
  /** Read twice: the second use of a visitor is admitted to the cache (read-cache.ts). */
  const warm = async (s: Storage, visitor: string, now = T0) => {
    await s.segmentInputs('s', visitor, now);
    const read = await s.segmentInputs('s', visitor, now);
    expect(read.entry.kept).toBe(true);
    return read;
  };

  it('keeps an unchanged profile parsed: the same entry (and its memo) read after read', async () => {
    await ingest(a, 'same', [ev(), ev()]);
    const first = await warm(b, 'same');
    const again = await b.segmentInputs('s', 'same', T0);
    expect(again.entry).toBe(first.entry);
    expect(again.stored?.profile.count).toBe(2);
  });

  it("shows another process's commit at the very next read, however warm the cache", async () => {
    await ingest(a, 'busy', [ev()]);
    let before = await warm(b, 'busy');
    for (let i = 2; i <= 30; i++) {
      await ingest(a, 'busy', [ev({ ts: T0 + i })]);
      const read = await b.segmentInputs('s', 'busy', T0 + i);
      expect(read.stored?.profile.count).toBe(i);
      expect(read.entry).not.toBe(before.entry);
      before = read;
    }
  });

  it('follows a link, traits and an erasure made by another process', async () => {
    await ingest(a, 'dev', [ev()]);
    await a.identity.ensureContact('s', 'kim', T0);
    await ingest(a, 'c:kim', [ev(), ev(), ev()]);
    expect((await warm(b, 'dev')).stored?.profile.count).toBe(1);

    await a.identity.link('s', 'dev', 'kim', null, T0 + DAY, T0);
    const linked = await b.segmentInputs('s', 'dev', T0 + 1);
    expect(linked).toMatchObject({ key: 'c:kim', contact: 'kim', traits: undefined });
    expect(linked.stored?.profile.count).toBe(3);
    await b.segmentInputs('s', 'dev', T0 + 1);

    await a.identity.setMeta(
      's',
      'c:kim',
      { traits: { plan: 'pro' }, first: null, last: null },
      T0,
    );
    const withTraits = await b.segmentInputs('s', 'dev', T0 + 2);
    expect(withTraits.traits).toEqual({ plan: 'pro' });
    // The profile did not change: its parse is kept, the traits are new.
    expect(withTraits.stored).toBe(linked.stored);

    // The link lapses with time alone: the device reads its own profile again.
    expect((await b.segmentInputs('s', 'dev', T0 + DAY)).stored?.profile.count).toBe(1);

    await a.write((tx) => tx.eraseContact('s', 'kim', T0 + 3));
    expect(await b.segmentInputs('s', 'dev', T0 + 3)).toMatchObject({
      key: 'dev',
      contact: null,
    });
    await a.write((tx) => tx.eraseVisitor('s', 'dev'));
    expect((await b.segmentInputs('s', 'dev', T0 + 4)).stored).toBeUndefined();
  });

  it('reads quintiles recomputed by another process; the same object while unchanged', async () => {
    for (let i = 0; i < 6; i++) {
      await ingest(a, `buyer${i}`, [ev({ type: 'purchase', value: 10 * (i + 1), ts: T0 + i })]);
    }
    const none = await b.segmentInputs('s', 'buyer0', T0 + DAY);
    expect(none.rfm).toBeNull();
    const bp = await a.write((tx) => tx.recomputeRfm('s', 5, T0 + DAY));
    expect(bp).not.toBeNull();
    const read = await b.segmentInputs('s', 'buyer0', T0 + DAY);
    expect(read.rfm).toEqual(bp);
    expect((await b.segmentInputs('s', 'buyer1', T0 + DAY)).rfm).toBe(read.rfm);
  });

  it('never caches what a write job read of its own rows, which may roll back', async () => {
    await ingest(a, 'undo', [ev()]);
    await warm(a, 'undo');
    await expect(
      a.write(async (tx) => {
        await tx.ingest('s', 'undo', [ev()], engine, T0);
        // A Storage read inside the job: the job's own (uncommitted) rows.
        expect((await a.segmentInputs('s', 'undo', T0)).stored?.profile.count).toBe(2);
        throw new Error('rolled back');
      }),
    ).rejects.toThrow('rolled back');
    expect((await a.segmentInputs('s', 'undo', T0)).stored?.profile.count).toBe(1);
  });

  it('answers concurrent reads of many visitors, each its own, in a few statements', async () => {
    const visitors = Array.from({ length: 200 }, (_, i) => `many${i}`);
    await a.write(async (tx) => {
      for (const [i, v] of visitors.entries()) {
        await tx.ingest(
          's',
          v,
          Array.from({ length: (i % 5) + 1 }, () => ev()),
          engine,
          T0,
        );
      }
    });
    const pool = testPool(db.url, 4);
    let statements = 0;
    const query = pool.query.bind(pool);
    pool.query = ((...args: Parameters<typeof query>) => {
      statements++;
      return query(...args);
    }) as typeof pool.query;
    try {
      const path = pgReadPath(pool, 1000);
      for (let round = 0; round < 2; round++) {
        statements = 0;
        const reads = await Promise.all(visitors.map((v) => path.segmentInputs('s', v, T0)));
        reads.forEach((r, i) => {
          expect(r.key).toBe(visitors[i]);
          expect(r.stored?.profile.count).toBe((i % 5) + 1);
        });
        expect(statements).toBeLessThanOrEqual(2);
      }
      // The pool ended: every read of the group is refused with the pool's error.
      await endPool(pool);
      await expect(path.segmentInputs('s', 'many1', T0)).rejects.toThrow();
    } finally {
      if (!pool.ending) await endPool(pool);
    }
  });
});
