import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseConfig } from '../../collector/config/config.ts';
import type { NewEvent, Storage } from '../../collector/storage/contract.ts';
import { openStorage } from '../../collector/storage/open.ts';
import { READ_PATH_SQL, sqliteHandle } from '../../collector/storage/sqlite/index.ts';
import { evaluate } from '../../collector/engine/index.ts';
import { DAY, T0 } from '../temp.ts';
import {
  BACKEND,
  databaseArg,
  exec,
  openTestStorage,
  type TestStorage,
} from '../support/backend.ts';

const config = parseConfig({
  sites: {
    s: {
      rules: { big: { when: { fact: 'purchases.total', gte: 100 } } },
      segment: { rfm: { minCustomers: 5 } },
    },
  },
});
const site = config.sites.get('s')!;

let opened: TestStorage;
let storage: Storage;
beforeEach(async () => {
  opened = await openTestStorage();
  storage = opened.storage;
});
afterEach(async () => {
  await opened.close();
});

let n = 0;
const ev = (over: Partial<NewEvent> = {}): NewEvent => ({
  id: `i${++n}`,
  type: 'page_view',
  ts: T0,
  ...over,
});
const ingest = (visitor: string, events: NewEvent[], now = T0) =>
  storage.write((tx) => tx.ingest('s', visitor, events, site.engine, now));
const recomputeRfm = (minCustomers: number, now: number) =>
  storage.write((tx) => tx.recomputeRfm('s', minCustomers, now));

describe('segment history', () => {
  it('records key changes and custom segment entries/exits with the causing event', async () => {
    const firstEvent = ev({ category: 'a' });
    const first = await ingest('v', [firstEvent]);
    expect(first.changes).toEqual([{ kind: 'key', name: 'newbie:a:active', previous: null }]);
    expect((await ingest('v', [ev({ category: 'a' })])).changes).toEqual([]);
    const buy = ev({ type: 'purchase', value: 150, category: 'a', id: 'order-9' });
    const bought = await ingest('v', [buy], T0 + 1000);
    expect(bought.before).toEqual({ key: 'newbie:a:active', segments: [] });
    expect(bought.changes).toEqual([
      { kind: 'key', name: 'new_customer:a:hot', previous: 'newbie:a:active' },
      { kind: 'entered', name: 'big', previous: null },
    ]);
    const history = await storage.segmentHistory('s', 'v');
    expect(history.map((h) => [h.kind, h.name, h.at, h.event])).toEqual([
      ['key', 'newbie:a:active', T0, firstEvent.id],
      ['key', 'new_customer:a:hot', T0 + 1000, 'order-9'],
      ['entered', 'big', T0 + 1000, 'order-9'],
    ]);
    // Cursor and limit.
    expect(
      (await storage.segmentHistory('s', 'v', { after: history[0]!.seq })).map((h) => h.name),
    ).toEqual(['new_customer:a:hot', 'big']);
    expect(await storage.segmentHistory('s', 'v', { limit: 1 })).toHaveLength(1);
    expect(await storage.segmentHistory('s', 'other')).toEqual([]);
  });

  it('records nothing for a batch of duplicates, even after time changed the segment', async () => {
    const e = ev({ category: 'a' });
    await ingest('v', [e]);
    expect((await ingest('v', [e], T0 + 40 * DAY)).changes).toEqual([]);
    expect(await storage.segmentHistory('s', 'v')).toHaveLength(1);
  });

  it('is written in the transaction of the events: a failed job leaves neither', async () => {
    await expect(
      storage.write(async (tx) => {
        await tx.ingest('s', 'v', [ev({ category: 'a' })], site.engine, T0);
        throw new Error('crash after ingest');
      }),
    ).rejects.toThrow('crash');
    expect(await storage.countEvents('s', 'v')).toBe(0);
    expect(await storage.segmentHistory('s', 'v')).toEqual([]);
    expect(await storage.profile('s', 'v')).toBeUndefined();
  });

  it('tells change listeners inside the transaction: what they write commits or rolls back with it', async () => {
    const told: string[] = [];
    storage.onChanges(async (change, tx) => {
      told.push(change.changes.map((c) => c.name).join());
      await tx.identity.ensureContact('s', `seen-${change.visitor}`, change.at);
      if (change.visitor === 'bad') throw new Error('listener failed');
    });
    await ingest('v', [ev({ category: 'a' })]);
    await expect(ingest('bad', [ev({ category: 'a' })])).rejects.toThrow('listener failed');
    expect(told).toEqual(['newbie:a:active', 'newbie:a:active']);
    expect(await storage.identity.contactExists('s', 'seen-v')).toBe(true);
    expect(await storage.identity.contactExists('s', 'seen-bad')).toBe(false);
    expect(await storage.countEvents('s', 'bad')).toBe(0);
  });
});

describe('RFM quintiles in the background', async () => {
  const customer = async (i: number, purchases: number, total: number, lastAgoDays: number) => {
    const events = Array.from({ length: purchases }, (_, k) =>
      ev({ type: 'purchase', value: total / purchases, ts: T0 - lastAgoDays * DAY - k * 1000 }),
    );
    await ingest(`c${i}`, events);
  };

  it('uses fixed thresholds under minCustomers, quintiles from the customers after', async () => {
    for (let i = 0; i < 4; i++) await customer(i, i + 1, (i + 1) * 10, i * 10);
    await ingest('visitor-only', [ev()]);
    expect(await recomputeRfm(5, T0)).toBeNull();
    expect(await storage.rfmBreakpoints('s')).toBeNull();
    for (let i = 4; i < 10; i++) await customer(i, i + 1, (i + 1) * 10, i * 10);
    const bp = (await recomputeRfm(5, T0))!;
    // 10 customers with 1..10 purchases, totals 10..100, last purchase 0..90 days ago.
    expect(bp).toEqual({
      // Last-purchase times at the ranks, oldest first (ranks 1, 3, 5, 7 of 90..0 days ago).
      lastPurchase: [T0 - 80 * DAY, T0 - 60 * DAY, T0 - 40 * DAY, T0 - 20 * DAY],
      frequency: [2, 4, 6, 8],
      monetary: [20, 40, 60, 80],
      customers: 10,
      computed: T0,
    });
    expect(await storage.rfmBreakpoints('s')).toEqual(bp);
    const c9 = (await storage.profile('s', 'c9'))!.profile;
    expect(
      evaluate(c9, { site: 's', visitor: 'c9', known: false }, site.engine, T0, { rfm: bp }).rfm,
    ).toEqual({ r: 1, f: 5, m: 5, label: 'cannot_lose' });
    expect(
      evaluate(c9, { site: 's', visitor: 'c9', known: false }, site.engine, T0).rfm,
    ).toMatchObject({ r: 2, f: 5, m: 2 });
    // A fresh storage on the same database reads them back.
    const again = await openStorage(databaseArg(storage));
    expect(await again.rfmBreakpoints('s')).toEqual(bp);
    await again.close();
  });

  it('a customer exactly at a breakpoint keeps its score when read later, and at the next run', async () => {
    for (let i = 0; i < 10; i++) await customer(i, i + 1, (i + 1) * 10, i * 10);
    const bp = (await recomputeRfm(5, T0))!;
    // c4 bought last 40 days ago: the third breakpoint, so R 3 (on it: the lower score).
    expect((await storage.profile('s', 'c4'))!.profile.purchases.last).toBe(bp.lastPurchase[2]);
    const c4 = (await storage.profile('s', 'c4'))!.profile;
    const r = async (at: number) =>
      evaluate(c4, { site: 's', visitor: 'c4', known: false }, site.engine, at, {
        rfm: await storage.rfmBreakpoints('s'),
      }).rfm?.r;
    expect(await r(T0)).toBe(3);
    // A moment later (before the next run) and at the next run, nothing moved: the same score.
    expect(await r(T0 + 1)).toBe(3);
    expect(await r(T0 + 9 * 60_000)).toBe(3);
    await recomputeRfm(5, T0 + 10 * 60_000);
    expect(await r(T0 + 10 * 60_000)).toBe(3);
  });

  it('reads a row written with recency ages (before times) as the same times', async () => {
    await exec(
      storage,
      'INSERT INTO rfm_breakpoints (site, computed, customers, recency, frequency, monetary) VALUES (?, ?, ?, ?, ?, ?)',
      'old',
      T0,
      10,
      JSON.stringify([DAY, 2 * DAY, 3 * DAY, 4 * DAY]),
      '[1,2,3,4]',
      '[1,2,3,4]',
    );
    expect((await storage.rfmBreakpoints('old'))?.lastPurchase).toEqual([
      T0 - 4 * DAY,
      T0 - 3 * DAY,
      T0 - 2 * DAY,
      T0 - DAY,
    ]);
  });
});

// SQLite's query plans (EXPLAIN QUERY PLAN, its autoindex names): PostgreSQL's planner is its own.
describe.skipIf(BACKEND === 'postgres')('query plans', () => {
  const plan = (sql: string, ...args: unknown[]) =>
    (
      sqliteHandle(storage)
        .prepare(`EXPLAIN QUERY PLAN ${sql}`)
        .all(...args) as { detail: string }[]
    ).map((r) => r.detail);

  it('a segment read is one primary-key lookup', () => {
    expect(
      plan(
        'SELECT data, updated, segment, segments FROM profiles WHERE site = ? AND visitor = ?',
        's',
        'v',
      ),
    ).toEqual(['SEARCH profiles USING INDEX sqlite_autoindex_profiles_1 (site=? AND visitor=?)']);
  });

  it('the segment read path (link, profile, traits) is three primary-key lookups in one statement', () => {
    // The constant row of the two parameters, then one index search per table: no scan of any table.
    expect(plan(READ_PATH_SQL, 's', 'v', T0)).toEqual([
      'CO-ROUTINE q',
      'SCAN CONSTANT ROW',
      'SCAN q',
      'SEARCH l USING INDEX sqlite_autoindex_links_1 (site=? AND visitor=?) LEFT-JOIN',
      'SEARCH p USING INDEX sqlite_autoindex_profiles_1 (site=? AND visitor=?) LEFT-JOIN',
      'SEARCH m USING INDEX sqlite_autoindex_profile_meta_1 (site=? AND visitor=?) LEFT-JOIN',
    ]);
  });

  it('the RFM job walks the partial customer indexes, and history reads use their index', () => {
    // The statements of storage/rfm.ts: an index walk to the rank, no sort.
    const rank = (column: string, index: string, dir: string) =>
      plan(
        `SELECT ${column} AS v FROM profiles INDEXED BY ${index} WHERE site = ? AND purchases > 0 ORDER BY ${column} ${dir} LIMIT 1 OFFSET ?`,
        's',
        3,
      );
    expect(rank('purchases', 'profiles_rfm_f', 'ASC')).toEqual([
      'SEARCH profiles USING COVERING INDEX profiles_rfm_f (site=? AND purchases>?)',
    ]);
    expect(rank('monetary', 'profiles_rfm_m', 'ASC')).toEqual([
      expect.stringMatching(/^SEARCH profiles USING (COVERING )?INDEX profiles_rfm_m \(site=\?\)$/),
    ]);
    expect(rank('last_purchase', 'profiles_rfm_r', 'ASC')).toEqual([
      expect.stringMatching(/^SEARCH profiles USING (COVERING )?INDEX profiles_rfm_r \(site=\?\)$/),
    ]);
    expect(plan('SELECT count(*) FROM profiles WHERE site = ? AND purchases > 0', 's')[0]).toMatch(
      /USING COVERING INDEX profiles_rfm_/,
    );
    expect(
      plan(
        'SELECT * FROM segment_changes WHERE site = ? AND visitor = ? AND seq > ? ORDER BY seq LIMIT 100',
        's',
        'v',
        0,
      ),
    ).toEqual([
      'SEARCH segment_changes USING INDEX segment_changes_visitor (site=? AND visitor=? AND seq>?)',
    ]);
  });
});
