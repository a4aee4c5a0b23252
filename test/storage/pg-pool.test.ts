/** The PostgreSQL backend's pool (collector/storage/pg/pool.ts): what it does beyond pg's defaults. */
import { afterAll, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import type pg from 'pg';
import { CONNECT_TIMEOUT_MS, checkout, createPool } from '../../collector/storage/pg/pool.ts';
import { pgTestDatabase } from '../support/pg-database.ts';

const pgUrl = inject('pgUrl');

describe.skipIf(!pgUrl)('PostgreSQL pool', () => {
  const db = pgTestDatabase();
  let pool: pg.Pool;
  beforeAll(() => {
    pool = createPool(db.url, { size: 2 });
  });
  afterAll(async () => {
    vi.useRealTimers();
    await pool?.end();
  });

  it('keeps an idle connection open: no idle timer armed on release', async () => {
    const client = await pool.connect();
    // Timers armed from here on are fake: pg-pool's idle timeout (10 s by default) would close
    // the released connection when they are run.
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    client.release();
    expect(vi.getTimerCount()).toBe(0);
    vi.advanceTimersByTime(60_000);
    vi.useRealTimers();
    expect(pool.totalCount).toBe(1);
    expect(pool.idleCount).toBe(1);
    // The same connection serves the next checkout.
    const again = await pool.connect();
    expect(again).toBe(client);
    again.release();
  });

  it('checkout: an idle connection is handed over with no timer armed', async () => {
    const first = await pool.connect();
    first.release();
    expect(pool.idleCount).toBe(1);
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const pending = checkout(pool);
    // pg-pool arms its connection timer inside connect() itself, before it returns.
    expect(vi.getTimerCount()).toBe(0);
    expect(pool.options.connectionTimeoutMillis).toBe(CONNECT_TIMEOUT_MS);
    vi.useRealTimers();
    const client = await pending;
    expect(client).toBe(first);
    client.release();
  });

  it('checkout: with no idle connection for it, the wait still times out', async () => {
    const one = createPool(db.url, { size: 1 });
    try {
      const held = await checkout(one);
      vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
      const waiting = checkout(one);
      expect(vi.getTimerCount()).toBe(1);
      vi.advanceTimersByTime(CONNECT_TIMEOUT_MS);
      vi.useRealTimers();
      await expect(waiting).rejects.toThrow(/timeout/);
      held.release();
      // The pool is whole: the next checkout gets the connection at once.
      const again = await checkout(one);
      expect(again).toBe(held);
      again.release();
    } finally {
      vi.useRealTimers();
      await one.end();
    }
  });

  it('gives numbers for int8 and numeric', async () => {
    const { rows } = await pool.query<{ a: unknown; b: unknown }>(
      'SELECT 9007199254740991::bigint AS a, 12.5::numeric AS b',
    );
    expect(rows[0]).toEqual({ a: 9007199254740991, b: 12.5 });
  });
});
