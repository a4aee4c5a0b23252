import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { NESTED_WRITE, writeQueue } from '../../collector/storage/sqlite/write-queue.ts';
import { openStorage } from '../../collector/storage/open.ts';
import { sqliteHandle } from '../../collector/storage/sqlite/index.ts';
import type { Storage } from '../../collector/storage/contract.ts';
import { tempDir } from '../temp.ts';

function db() {
  const d = new Database(':memory:');
  d.exec('create table t (v integer primary key)');
  return d;
}

/** A turn of the event loop: whatever was queued in this one has had its flush. */
const turn = () => new Promise((r) => setImmediate(r));

describe('group commit', () => {
  it('runs jobs queued in one turn in one transaction and answers after it', async () => {
    const d = db();
    const committed: number[] = [];
    const depths: number[] = [];
    const q = writeQueue(d, d, [
      { depth: (n) => depths.push(n), committed: (s) => committed.push(s) },
    ]);
    const commits: number[] = [];
    const insert = d.prepare('insert into t values (?)');
    const results = await Promise.all(
      [1, 2, 3].map((v) =>
        q.run(async () => {
          insert.run(v);
          await Promise.resolve();
          commits.push(d.inTransaction ? 1 : 0);
          return v * 10;
        }),
      ),
    );
    expect(results).toEqual([10, 20, 30]);
    expect(commits).toEqual([1, 1, 1]);
    expect(d.prepare('select count(*) from t').pluck().get()).toBe(3);
    // One transaction, timed once; the observer saw the queue fill and empty.
    expect(committed).toHaveLength(1);
    expect(committed[0]).toBeGreaterThanOrEqual(0);
    expect(depths).toEqual([1, 2, 3, 0]);
  });

  it('waits for a hold before a group; jobs that arrive meanwhile join it', async () => {
    const d = db();
    let release = () => {};
    let holds = 0;
    const hold = () => {
      if (holds++ > 0) return null;
      return new Promise<void>((ok) => (release = ok));
    };
    const committed: number[] = [];
    const q = writeQueue(
      d,
      d,
      [{ depth: () => {}, committed: (s) => committed.push(s) }],
      500,
      hold,
    );
    const insert = d.prepare('insert into t values (?)');
    const first = q.run(async () => insert.run(1));
    await turn();
    // Held: nothing began, and a job queued now waits for the same group.
    expect(d.inTransaction).toBe(false);
    const second = q.run(async () => insert.run(2));
    await turn();
    expect(d.prepare('select count(*) from t').pluck().get()).toBe(0);
    release();
    await Promise.all([first, second]);
    expect(d.prepare('select v from t order by v').pluck().all()).toEqual([1, 2]);
    expect(committed).toHaveLength(1);
    // The next group asks again and is not held.
    await q.run(async () => insert.run(3));
    expect(holds).toBe(2);
  });

  it('rolls back a failing job alone; the rest of the group commits', async () => {
    const d = db();
    const q = writeQueue(d, d);
    const insert = d.prepare('insert into t values (?)');
    const settled = await Promise.allSettled([
      q.run(async () => insert.run(1)),
      q.run(async () => {
        insert.run(2);
        await Promise.resolve();
        throw new Error('bad job');
      }),
      q.run(async () => insert.run(3)),
    ]);
    expect(settled.map((s) => s.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect(d.prepare('select v from t order by v').pluck().all()).toEqual([1, 3]);
    expect(d.inTransaction).toBe(false);
  });

  it('runs each job once, without savepoints, unless one fails: then the group runs again with one per job', async () => {
    const d = db();
    const q = writeQueue(d, d);
    const insert = d.prepare('insert into t values (?)');
    const runs = [0, 0, 0];
    const job = (i: number, fail = false) =>
      q.run(async () => {
        runs[i] = (runs[i] ?? 0) + 1;
        insert.run(i);
        if (fail) throw new Error('bad job');
      });
    await Promise.all([job(0), job(1), job(2)]);
    expect(runs).toEqual([1, 1, 1]);
    d.exec('delete from t');
    const settled = await Promise.allSettled([job(0), job(1, true), job(2)]);
    expect(settled.map((s) => s.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    // The first run stopped at the failing job; the second ran all three.
    expect(runs).toEqual([3, 3, 2]);
    expect(d.prepare('select v from t order by v').pluck().all()).toEqual([0, 2]);
  });

  it("answers a job only after the group's commit", async () => {
    const d = db();
    const q = writeQueue(d, d);
    const insert = d.prepare('insert into t values (?)');
    const seen: string[] = [];
    const first = q.run(async () => {
      insert.run(1);
      return 'one';
    });
    const second = q.run(async () => {
      insert.run(2);
      // The first job's work is done, its answer not given: the transaction is still open.
      seen.push(`second runs, in transaction: ${d.inTransaction}`);
    });
    void first.then(() => seen.push(`first answered, in transaction: ${d.inTransaction}`));
    await Promise.all([first, second]);
    expect(seen).toEqual([
      'second runs, in transaction: true',
      'first answered, in transaction: false',
    ]);
    // Committed: another connection would see it (data_version moved past the commit).
    expect(d.prepare('select count(*) from t').pluck().get()).toBe(2);
  });

  it('refuses a write queued from inside a job (it would wait for its own group forever)', async () => {
    const d = db();
    const q = writeQueue(d, d);
    const insert = d.prepare('insert into t values (?)');
    const outer = q.run(async () => {
      insert.run(1);
      await Promise.resolve();
      return q.run(async () => insert.run(2));
    });
    await expect(outer).rejects.toThrow(NESTED_WRITE);
    expect(d.prepare('select count(*) from t').pluck().get()).toBe(0);
    // A write queued at the same time from outside any job is not mistaken for one.
    const a = q.run(async () => {
      await Promise.resolve();
      await Promise.resolve();
      insert.run(3);
    });
    const b = (async () => {
      await Promise.resolve();
      return q.run(async () => insert.run(4));
    })();
    await Promise.all([a, b]);
    expect(d.prepare('select v from t order by v').pluck().all()).toEqual([3, 4]);
  });

  it('a timer a job started writes normally later, even while another group runs', async () => {
    const d = db();
    const q = writeQueue(d, d);
    const insert = d.prepare('insert into t values (?)');
    let later: Promise<unknown> = Promise.resolve();
    const fired = new Promise<void>((done) => {
      void q.run(async () => {
        insert.run(1);
        // As the webhook worker's wake() does from a change listener: a task of its own.
        setTimeout(() => {
          later = q.run(async () => insert.run(2));
          done();
        }, 20);
      });
    });
    await turn();
    // A group that spans turns (not what jobs do) is running when the timer fires.
    let release = () => {};
    const held = new Promise<void>((r) => {
      release = r;
    });
    const other = q.run(async () => {
      insert.run(3);
      await held;
    });
    await fired;
    release();
    await Promise.all([other, later]);
    expect(d.prepare('select v from t order by v').pluck().all()).toEqual([1, 2, 3]);
  });

  it('splits a large backlog into groups and drains', async () => {
    const d = db();
    const q = writeQueue(d, d, undefined, 10);
    const insert = d.prepare('insert into t values (?)');
    const all = Array.from({ length: 35 }, (_, i) => q.run(async () => insert.run(i)));
    expect(q.depth).toBe(35);
    await q.drain();
    expect(q.depth).toBe(0);
    await Promise.all(all);
    expect(d.prepare('select count(*) from t').pluck().get()).toBe(35);
  });

  it('drain waits for a group that is running, not only for queued jobs', async () => {
    const d = db();
    const q = writeQueue(d, d);
    const insert = d.prepare('insert into t values (?)');
    let release = () => {};
    const held = new Promise<void>((r) => {
      release = r;
    });
    const job = q.run(async () => {
      insert.run(1);
      // Not what jobs do (they await only their tx): a group that spans turns, to catch drain early.
      await held;
    });
    await turn();
    expect(q.depth).toBe(0);
    let drained = false;
    const drain = q.drain().then(() => {
      drained = true;
    });
    await turn();
    expect(drained).toBe(false);
    release();
    await Promise.all([job, drain]);
    expect(drained).toBe(true);
    expect(d.prepare('select count(*) from t').pluck().get()).toBe(1);
  });

  it('a failing commit fails the whole group and marks writes failing', async () => {
    const d = db();
    const q = writeQueue(d, d);
    d.exec('create table parent (id integer primary key)');
    d.exec('create table child (p integer references parent(id) deferrable initially deferred)');
    d.pragma('foreign_keys = ON');
    const settled = await Promise.allSettled([
      q.run(async () => d.prepare('insert into t values (1)').run()),
      // Deferred: the violation shows only at COMMIT, which then fails for the whole group.
      q.run(async () => d.prepare('insert into child values (42)').run()),
    ]);
    expect(settled.map((s) => s.status)).toEqual(['rejected', 'rejected']);
    expect(d.prepare('select count(*) from t').pluck().get()).toBe(0);
    expect(d.inTransaction).toBe(false);
    // A constraint is not a storage failure: /healthz stays ok.
    expect(q.failing).toBeNull();
  });
});

describe('storage.write', () => {
  let tmp: ReturnType<typeof tempDir>;
  let storage: Storage;
  afterEach(async () => {
    await storage.close();
    tmp.cleanup();
  });
  const open = async () => {
    tmp = tempDir();
    storage = await openStorage(join(tmp.dir, 'db.sqlite'));
    return sqliteHandle(storage);
  };

  it('runs single writes of the storage as jobs of their own, refused inside a job', async () => {
    await open();
    await storage.identity.ensureContact('s', 'ann', 1);
    expect(await storage.identity.contactExists('s', 'ann')).toBe(true);
    await expect(
      storage.write(async () => storage.identity.ensureContact('s', 'bob', 1)),
    ).rejects.toThrow(NESTED_WRITE);
    expect(await storage.identity.contactExists('s', 'bob')).toBe(false);
    await storage.write((tx) => tx.identity.ensureContact('s', 'bob', 1));
    expect(await storage.identity.contactExists('s', 'bob')).toBe(true);
  });

  it('a job that throws rolls back alone; a job can read what its group wrote before it', async () => {
    const sqlite = await open();
    const results = await Promise.allSettled([
      storage.write((tx) => tx.identity.ensureContact('s', 'ann', 1)),
      storage.write(async (tx) => {
        await tx.identity.ensureContact('s', 'bob', 1);
        throw new Error('bad job');
      }),
      storage.write(async (tx) => tx.identity.contactExists('s', 'ann')),
    ]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect((results[2] as PromiseFulfilledResult<boolean>).value).toBe(true);
    expect(await storage.identity.contactExists('s', 'bob')).toBe(false);
    expect(sqlite.inTransaction).toBe(false);
    await storage.drain();
    expect(storage.writes.depth).toBe(0);
  });

  it('close drains queued writes first', async () => {
    const sqlite = await open();
    const file = sqlite.name;
    const pending = storage.identity.ensureContact('s', 'ann', 1);
    await storage.close();
    await pending;
    storage = await openStorage(file);
    expect(await storage.identity.contactExists('s', 'ann')).toBe(true);
  });
});
