import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { createMetrics } from '../../collector/http/metrics.ts';
import { writeQueue } from '../../collector/storage/write-queue.ts';

function db() {
  const d = new Database(':memory:');
  d.exec('create table t (v integer primary key)');
  return d;
}

describe('group commit', () => {
  it('runs jobs queued in one turn in one transaction and answers after it', async () => {
    const d = db();
    const metrics = createMetrics();
    const q = writeQueue(d, metrics);
    const commits: number[] = [];
    d.function('mark', () => 0);
    const insert = d.prepare('insert into t values (?)');
    const results = await Promise.all(
      [1, 2, 3].map((v) =>
        q.run(() => {
          insert.run(v);
          commits.push(d.inTransaction ? 1 : 0);
          return v * 10;
        }),
      ),
    );
    expect(results).toEqual([10, 20, 30]);
    expect(commits).toEqual([1, 1, 1]);
    expect(d.prepare('select count(*) from t').pluck().get()).toBe(3);
    const hist = await metrics.registry.getSingleMetricAsString('microseg_commit_seconds');
    expect(hist).toMatch(/microseg_commit_seconds_count 1/);
  });

  it('rolls back a failing job alone; the rest of the group commits', async () => {
    const d = db();
    const q = writeQueue(d);
    const insert = d.prepare('insert into t values (?)');
    const settled = await Promise.allSettled([
      q.run(() => insert.run(1)),
      q.run(() => {
        insert.run(2);
        throw new Error('bad job');
      }),
      q.run(() => insert.run(3)),
    ]);
    expect(settled.map((s) => s.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect(d.prepare('select v from t order by v').pluck().all()).toEqual([1, 3]);
  });

  it('runs each job once, without savepoints, unless one fails: then the group runs again with one per job', async () => {
    const d = db();
    const q = writeQueue(d);
    const insert = d.prepare('insert into t values (?)');
    const runs = [0, 0, 0];
    const job = (i: number, fail = false) =>
      q.run(() => {
        runs[i]!++;
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

  it('splits a large backlog into groups and drains', async () => {
    const d = db();
    const q = writeQueue(d, undefined, 10);
    const insert = d.prepare('insert into t values (?)');
    const all = Array.from({ length: 35 }, (_, i) => q.run(() => insert.run(i)));
    expect(q.depth).toBe(35);
    await q.drain();
    expect(q.depth).toBe(0);
    await Promise.all(all);
    expect(d.prepare('select count(*) from t').pluck().get()).toBe(35);
  });
});
