/**
 * The background jobs on one leader (issue 16): two storages on one PostgreSQL database (two
 * pools and two leader sessions, as two collector processes have) each run `runJobsWhileLeader`
 * with the real RFM job. Only the leader runs rounds; when its session ends (terminated by the
 * server, or the storage closed) the other takes the jobs over within its retry, and the first,
 * still alive, stays standing by. On SQLite the one process leads at once.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { parseConfig } from '../../collector/config/config.ts';
import { runJobsWhileLeader } from '../../collector/jobs/leader.ts';
import { startRfmJob } from '../../collector/jobs/rfm.ts';
import type { Logger } from '../../collector/log.ts';
import type { Storage } from '../../collector/storage/contract.ts';
import { openStorage } from '../../collector/storage/open.ts';
import { pgTestDatabase } from '../support/pg-database.ts';
import { tempDir } from '../temp.ts';

const pgUrl = inject('pgUrl');
const config = parseConfig({ sites: { s: {} } });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A process's jobs: the real RFM job every 100 ms, its rounds counted from its log. */
function jobsOf(storage: Storage) {
  const lines: string[] = [];
  let rounds = 0;
  const log: Logger = (_level, msg) => {
    lines.push(msg);
    if (msg === 'rfm quintiles') rounds++;
  };
  const changes: boolean[] = [];
  const led = runJobsWhileLeader(storage, () => startRfmJob(storage, config, 100, Date.now, log), {
    log,
    retryMs: 100,
    onChange: (held) => changes.push(held),
  });
  return {
    led,
    lines,
    changes,
    get rounds() {
      return rounds;
    },
  };
}

async function until(what: () => boolean, ms = 5000) {
  const end = Date.now() + ms;
  while (!what()) {
    if (Date.now() > end) throw new Error('timed out');
    await sleep(20);
  }
}

describe.skipIf(!pgUrl)('background jobs: one leader among the processes on a database', () => {
  const db = pgTestDatabase();
  let a: Storage;
  let b: Storage;
  beforeAll(async () => {
    [a, b] = await Promise.all([openStorage(db.url), openStorage(db.url)]);
  });
  afterAll(async () => {
    await a?.close();
    await b?.close();
  });

  it('runs on one process; moves to the other when the leader session ends', async () => {
    const ja = jobsOf(a);
    await ja.led.ready;
    const jb = jobsOf(b);
    await jb.led.ready;
    expect(ja.led.leader).toBe(true);
    expect(jb.led.leader).toBe(false);
    await sleep(600);
    expect(ja.rounds).toBeGreaterThanOrEqual(3);
    expect(jb.rounds).toBe(0);

    // The server ends the leader's session (as when its process dies or its connection drops).
    const admin = new pg.Client({ connectionString: db.url });
    await admin.connect();
    try {
      const holder = await admin.query<{ pid: number }>(
        `SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted
            AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`,
      );
      expect(holder.rows).toHaveLength(1);
      await admin.query('SELECT pg_terminate_backend($1)', [holder.rows[0]?.pid]);
    } finally {
      await admin.end();
    }
    await until(() => jb.led.leader);
    await until(() => !ja.led.leader);
    expect(ja.lines).toContain('background jobs: leadership lost, stopped here');
    const aRounds = ja.rounds;
    await sleep(600);
    // A is alive and tries again, but B holds the lock: A stays standing by.
    expect(ja.led.leader).toBe(false);
    expect(ja.rounds).toBe(aRounds);
    expect(jb.rounds).toBeGreaterThanOrEqual(3);
    expect(ja.changes).toEqual([true, false]);
    expect(jb.changes).toEqual([true]);

    // B's process goes away (its storage closes): A takes the jobs back.
    await jb.led.stop();
    await until(() => ja.led.leader);
    const back = ja.rounds;
    await until(() => ja.rounds > back);
    await ja.led.stop();
  });

  it('the storage closing gives the leadership up', async () => {
    const c = await openStorage(db.url);
    const jc = jobsOf(c);
    await jc.led.ready;
    expect(jc.led.leader).toBe(true);
    const jb = jobsOf(b);
    await jb.led.ready;
    expect(jb.led.leader).toBe(false);
    await c.close();
    await until(() => jb.led.leader);
    await jb.led.stop();
  });
});

describe('background jobs on SQLite: the one process leads', () => {
  const tmp = tempDir();
  afterAll(() => tmp.cleanup());
  it('leads at once', async () => {
    const s = await openStorage(`${tmp.dir}/j.db`);
    const js = jobsOf(s);
    await js.led.ready;
    expect(js.led.leader).toBe(true);
    await until(() => js.rounds > 0);
    await js.led.stop();
    await s.close();
  });
});
