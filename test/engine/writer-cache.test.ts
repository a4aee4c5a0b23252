/**
 * The single writer keeps the profiles it committed: a visitor's next batch folds into them without
 * reading and parsing the row again, and never into a profile that did not commit (a failed job,
 * a rolled-back group), nor one written since by another path or another connection.
 */
import Database from 'better-sqlite3';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { parseConfig } from '../../collector/config/config.ts';
import { openStorage, type NewEvent, type Storage } from '../../collector/storage/storage.ts';
import { writeQueue, type WriteQueue } from '../../collector/storage/write-queue.ts';
import { DAY, tempDir, T0 } from '../helpers.ts';

const site = parseConfig({ sites: { s: {} } }).sites.get('s')!;

let tmp: ReturnType<typeof tempDir>;
let file: string;
let storage: Storage;
let q: WriteQueue;
beforeEach(() => {
  tmp = tempDir();
  file = join(tmp.dir, 'db.sqlite');
  storage = openStorage(file);
  q = writeQueue(storage.db.$client);
});
afterEach(() => {
  vi.restoreAllMocks();
  storage.close();
  tmp.cleanup();
});

let n = 0;
const ev = (over: Partial<NewEvent> = {}): NewEvent => ({
  id: `w${++n}`,
  type: 'page_view',
  ts: T0,
  category: 'cameras',
  ...over,
});
/** One batch as the collector runs it: a job of the write queue. */
const ingest = (visitor: string, events: NewEvent[], now = T0) =>
  q.run(() => storage.ingest('s', visitor, events, site.engine, now));
const count = (visitor: string) => storage.profile('s', visitor)?.profile.count;

describe('the writer keeps the profiles it committed', () => {
  it("folds a visitor's next batch into its profile in memory: no JSON.parse of the row", async () => {
    await ingest('v', [ev()]);
    await ingest('v', [ev()]); // the second write admits the visitor
    const parse = vi.spyOn(JSON, 'parse');
    const res = await ingest('v', [ev()]);
    expect(parse).not.toHaveBeenCalled();
    parse.mockRestore();
    expect(res.before.key).toBe('newbie:cameras:active');
    expect(count('v')).toBe(3);
    // Another visitor, and the same one read from the row, agree with it.
    expect(storage.profile('s', 'v')?.profile.window).toHaveLength(3);
  });

  it('never folds into what a failed job wrote: its group runs again, the failed job rolls back', async () => {
    await ingest('v', [ev()]);
    await ingest('v', [ev()]);
    const failing = () =>
      q.run(() => {
        storage.ingest('s', 'v', [ev(), ev()], site.engine, T0);
        throw new Error('a later step of the job failed');
      });
    let settled: PromiseSettledResult<unknown>[] = await Promise.allSettled([
      ingest('other', [ev()]),
      failing(),
    ]);
    expect(settled.map((s) => s.status)).toEqual(['fulfilled', 'rejected']);
    expect(count('v')).toBe(2);
    await ingest('v', [ev()]);
    expect(count('v')).toBe(3);
    // A later job of the same group writes the visitor again, from the row.
    settled = await Promise.allSettled([failing(), ingest('v', [ev()])]);
    expect(settled.map((s) => s.status)).toEqual(['rejected', 'fulfilled']);
    await ingest('v', [ev()]);
    expect(count('v')).toBe(5);
    expect(storage.countEvents('s', 'v')).toBe(5);
  });

  it('a profile written by another path (merge, sweep, SQL) or another connection is read again', async () => {
    for (let i = 0; i < 3; i++) await ingest('v', [ev()]);
    // Same connection, outside the ingest: the TEMP trigger drops it.
    storage.db.$client
      .prepare(
        "UPDATE profiles SET data = json_set(data, '$.count', 100) WHERE site = 's' AND visitor = 'v'",
      )
      .run();
    await ingest('v', [ev()]);
    expect(count('v')).toBe(101);
    await ingest('v', [ev()]);
    // Another connection on the file (the CLI, another process): its commit changes data_version.
    const other = new Database(file);
    other
      .prepare(
        "UPDATE profiles SET data = json_set(data, '$.count', 500) WHERE site = 's' AND visitor = 'v'",
      )
      .run();
    other.close();
    await ingest('v', [ev()]);
    expect(count('v')).toBe(501);
  });

  it('is off with the profile cache off, and outside a write-queue group', async () => {
    storage.close();
    storage = openStorage(file, { profileCache: 0 });
    q = writeQueue(storage.db.$client);
    for (let i = 0; i < 3; i++) await ingest('v', [ev()], T0 + i * DAY);
    const parse = vi.spyOn(JSON, 'parse');
    await ingest('v', [ev()]);
    expect(parse).toHaveBeenCalled();
    parse.mockClear();
    storage.close();
    storage = openStorage(file);
    // Direct calls (a caller's own transaction) read the row each time.
    for (let i = 0; i < 3; i++) storage.ingest('s', 'v', [ev()], site.engine, T0);
    storage.ingest('s', 'v', [ev()], site.engine, T0);
    expect(parse).toHaveBeenCalled();
    expect(count('v')).toBe(8);
  });
});
