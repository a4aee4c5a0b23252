/**
 * The segment read cache of the SQLite backend, through the storage contract alone: admission,
 * the TEMP triggers, `PRAGMA data_version`, rollbacks, and the cache's own LRU. The reads through
 * the HTTP app are in read-cache.test.ts.
 */
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DEFAULT_ENGINE } from '../../collector/engine/index.ts';
import type { NewEvent, Storage } from '../../collector/storage/contract.ts';
import { openStorage } from '../../collector/storage/open.ts';
import { Lru } from '../../collector/storage/read-cache.ts';
import { sqliteHandle } from '../../collector/storage/sqlite/index.ts';
import { T0, tempDir } from '../temp.ts';

let tmp: ReturnType<typeof tempDir>;
let storage: Storage;
let file: string;
beforeEach(async () => {
  tmp = tempDir();
  file = join(tmp.dir, 'cache.db');
  storage = await openStorage(file);
});
afterEach(async () => {
  await storage.close();
  tmp.cleanup();
});

let n = 0;
const pv = (category: string): NewEvent => ({
  id: `e${++n}`,
  type: 'page_view',
  ts: T0,
  category,
});
const ingest = (s: Storage, visitor: string, events: NewEvent[]) =>
  s.write((tx) => tx.ingest('shop', visitor, events, DEFAULT_ENGINE, T0));
const inputs = (visitor: string) => storage.segmentInputs('shop', visitor, T0);

describe('segment read cache (storage)', () => {
  it('admits a visitor on its second read, and serves it from memory after', async () => {
    await ingest(storage, 'once', [pv('cameras')]);
    const first = await inputs('once');
    const second = await inputs('once');
    expect(second.stored).not.toBe(first.stored);
    expect(second.entry.kept).toBe(true);
    expect((await inputs('once')).stored).toBe(second.stored);
    // A write drops it: the next read is of the new row.
    await ingest(storage, 'once', [pv('sports')]);
    expect((await inputs('once')).stored?.profile.count).toBe(2);
  });

  it('a commit by another connection on the same file drops the cache by the next turn', async () => {
    await ingest(storage, 'v3', [pv('cameras')]);
    await inputs('v3');
    expect((await inputs('v3')).entry.kept).toBe(true);
    const other = await openStorage(file);
    try {
      await ingest(other, 'v3', [pv('books')]);
    } finally {
      await other.close();
    }
    await new Promise((turn) => setImmediate(turn));
    expect((await inputs('v3')).stored?.profile.count).toBe(2);
  });

  it('a rolled-back write leaves nothing in the cache: reads inside a transaction do not fill it', async () => {
    await ingest(storage, 'v4', [pv('cameras')]);
    await inputs('v4');
    expect((await inputs('v4')).stored?.profile.count).toBe(1);
    await expect(
      storage.write(async (tx) => {
        await tx.ingest('shop', 'v4', [pv('sports')], DEFAULT_ENGINE, T0);
        // Inside the transaction the uncommitted write is visible...
        const read = await tx.segmentInputs('shop', 'v4', T0);
        expect(read.stored?.profile.count).toBe(2);
        expect(read.entry.kept).toBe(false);
        throw new Error('roll back');
      }),
    ).rejects.toThrow('roll back');
    // ...and after the rollback it is not served.
    expect((await inputs('v4')).stored?.profile.count).toBe(1);
  });

  it('a read outside the job while its group is open is not kept: the group may still roll back', async () => {
    await ingest(storage, 'v6', [pv('cameras')]);
    let release = () => {};
    const held = new Promise<void>((r) => {
      release = r;
    });
    let wrote = () => {};
    const written = new Promise<void>((r) => {
      wrote = r;
    });
    const job = storage.write(async (tx) => {
      await tx.ingest('shop', 'v6', [pv('sports')], DEFAULT_ENGINE, T0);
      wrote();
      // Not what jobs do (they await only their tx): a group open across turns, to read into it.
      await held;
      throw new Error('roll back');
    });
    await written;
    // Same connection: the uncommitted row shows for as long as the group is open...
    const during = await inputs('v6');
    const again = await inputs('v6');
    expect(again.stored?.profile.count).toBe(2);
    // ...but is never cached, though this is the visitor's second read (admitted otherwise).
    expect([during.entry.kept, again.entry.kept]).toEqual([false, false]);
    release();
    await expect(job).rejects.toThrow('roll back');
    expect((await inputs('v6')).stored?.profile.count).toBe(1);
  });

  it('a profile written directly in SQL is seen too (triggers, not call sites)', async () => {
    await ingest(storage, 'v5', [pv('cameras')]);
    await inputs('v5');
    await inputs('v5');
    sqliteHandle(storage)
      .prepare(
        `UPDATE profiles SET data = json_set(data, '$.count', 41) WHERE site = 'shop' AND visitor = 'v5'`,
      )
      .run();
    expect((await inputs('v5')).stored?.profile.count).toBe(41);
  });

  it('profileCache: 0 turns the cache off', async () => {
    const off = await openStorage(join(tmp.dir, 'off.db'), { profileCache: 0 });
    try {
      await ingest(off, 'v', [pv('cameras')]);
      const a = await off.segmentInputs('shop', 'v');
      expect((await off.segmentInputs('shop', 'v')).stored).not.toBe(a.stored);
      expect(a.stored?.profile.count).toBe(1);
    } finally {
      await off.close();
    }
  });
});

describe('Lru', () => {
  it('evicts the least recently used entry beyond its size', () => {
    const lru = new Lru<number>(2);
    lru.set('a', 1);
    lru.set('b', 2);
    expect(lru.get('a')).toBe(1); // a is now the most recent
    lru.set('c', 3);
    expect(lru.get('b')).toBeUndefined();
    expect(lru.get('a')).toBe(1);
    expect(lru.get('c')).toBe(3);
    expect(lru.size).toBe(2);
    lru.delete('a');
    expect(lru.get('a')).toBeUndefined();
    const none = new Lru<number>(0);
    none.set('x', 1);
    expect(none.size).toBe(0);
  });

  it('holds at most its size, answers the latest value of what it holds, keeps what is hit', () => {
    const lru = new Lru<number>(50);
    const truth = new Map<string, number>();
    let x = 7;
    for (let i = 0; i < 20_000; i++) {
      x = (x * 1103515245 + 12345) & 0x7fffffff;
      const key = `k${x % 400}`;
      if (x % 10 === 0) {
        lru.delete(key);
        truth.delete(key);
      } else if (x % 3 === 0) {
        lru.set(key, i);
        truth.set(key, i);
      } else {
        const v = lru.get(key);
        if (v !== undefined) expect(v).toBe(truth.get(key));
      }
      expect(lru.size).toBeLessThanOrEqual(50);
    }
    // A key read between every insertion survives a sweep of new keys that are never read.
    lru.set('hot', 1);
    for (let i = 0; i < 500; i++) {
      expect(lru.get('hot')).toBe(1);
      lru.set(`cold${i}`, i);
    }
  });
});
