/**
 * The webhook outbox with several workers on one PostgreSQL database (issue 16): two storages (two
 * pools, as two collector processes have) each with a delivery worker, a real HTTP receiver.
 * Every delivery reaches the receiver exactly once, in order per visitor and webhook; rows a
 * worker claimed and then abandoned (it died: no renewal) are sent by the other once the lease
 * ends, never before; a worker alive and renewing keeps its rows however long the receiver takes;
 * a worker stopped hands its rows back at once. SQLite, one process, claims what is due.
 */
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import { parseConfig, type Config } from '../../collector/config/config.ts';
import type { NewDelivery, Storage } from '../../collector/storage/contract.ts';
import { openStorage } from '../../collector/storage/open.ts';
import { type DeliveryWorker, startDeliveryWorker } from '../../collector/webhooks/worker.ts';
import { pgTestDatabase } from '../support/pg-database.ts';
import { tempDir } from '../temp.ts';
import { startReceiver } from '../triggers/receiver.ts';
import { SECRET, shopConfig } from '../triggers/setup.ts';

const pgUrl = inject('pgUrl');

function delivery(config: Config, visitor: string, change: 'enter' | 'exit', n = 1): NewDelivery {
  const hook = config.sites.get('shop')?.webhooks.find((h) => h.on === change);
  if (!hook) throw new Error('no such hook');
  return {
    site: 'shop',
    visitor,
    contact: null,
    hook: hook.id,
    url: hook.url,
    segment: hook.segment,
    change,
    body: (id) => JSON.stringify({ id, visitor, change, n }),
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe.skipIf(!pgUrl)('webhook outbox: two workers on one PostgreSQL database', () => {
  const db = pgTestDatabase();
  let a: Storage;
  let b: Storage;
  const workers: DeliveryWorker[] = [];
  const closers: (() => Promise<void>)[] = [];

  beforeAll(async () => {
    // Opened at once: the second waits for the first's migrations (migrate.ts).
    [a, b] = await Promise.all([openStorage(db.url), openStorage(db.url)]);
  });
  afterEach(async () => {
    for (const w of workers.splice(0)) await w.stop();
    for (const c of closers.splice(0)) await c();
    // Each test starts from an empty outbox.
    await a.write(async (tx) => {
      await tx.outbox.prune(Number.MAX_SAFE_INTEGER, 1_000_000);
    });
    const left = await a.outbox.counts();
    if (left.pending > 0) throw new Error(`${left.pending} deliveries left pending`);
  });
  afterAll(async () => {
    await a?.close();
    await b?.close();
  });

  async function setup(answer?: Parameters<typeof startReceiver>[1]) {
    const rx = await startReceiver(SECRET, answer);
    closers.push(() => rx.close());
    const config = parseConfig(shopConfig(rx.url));
    return { rx, config };
  }

  function worker(
    storage: Storage,
    config: Config,
    name: string,
    over: { leaseMs?: number; timeoutMs?: number } = {},
  ) {
    const sent: string[] = [];
    const w = startDeliveryWorker({
      outbox: storage.outbox,
      policy: { ...config.delivery, concurrency: 4, ...over },
      now: Date.now,
      owner: name,
      ...(over.leaseMs ? { leaseMs: over.leaseMs } : {}),
      secretFor: (site, hook) =>
        config.sites.get(site)?.webhooks.find((h) => h.id === hook)?.secret,
      onAttempt: (d, outcome) => {
        if (outcome === 'delivered') sent.push(d.id);
      },
    });
    workers.push(w);
    return { w, sent };
  }

  it('two workers deliver every transition exactly once, in order per visitor and webhook', async () => {
    const { rx, config } = await setup();
    const rows: NewDelivery[] = [];
    // 60 visitors entering, 20 of them exiting after, 20 entering a second time (the same
    // webhook as their first: in order): 100 deliveries.
    for (let i = 0; i < 60; i++) rows.push(delivery(config, `v${i}`, 'enter'));
    for (let i = 0; i < 20; i++) rows.push(delivery(config, `v${i}`, 'exit'));
    for (let i = 20; i < 40; i++) rows.push(delivery(config, `v${i}`, 'enter', 2));
    const ids = await a.write((tx) => tx.outbox.enqueue(rows, Date.now()));
    const wa = worker(a, config, 'worker-a');
    const wb = worker(b, config, 'worker-b');
    wa.w.wake();
    wb.w.wake();
    await rx.waitFor(ids.length, 15_000);
    // Anything sent twice would arrive within a few polls more.
    await sleep(300);

    const seen = rx.got.map((g) => g.headers['x-microseg-delivery'] as string);
    expect(seen).toHaveLength(ids.length);
    expect(new Set(seen)).toEqual(new Set(ids));
    expect(rx.got.every((g) => g.valid)).toBe(true);
    // Both took part, and neither sent what the other sent.
    expect(wa.sent.length).toBeGreaterThan(0);
    expect(wb.sent.length).toBeGreaterThan(0);
    expect(wa.sent.length + wb.sent.length).toBe(ids.length);
    expect(wa.sent.filter((id) => wb.sent.includes(id))).toEqual([]);
    // A visitor's second delivery to a webhook after its first, whichever worker sent which.
    for (let i = 20; i < 40; i++) {
      const mine = rx.got
        .map((g) => JSON.parse(g.raw) as { visitor: string; n: number })
        .filter((p) => p.visitor === `v${i}`)
        .map((p) => p.n);
      expect(mine).toEqual([1, 2]);
    }
    const counts = await b.outbox.counts();
    expect(counts).toEqual({ pending: 0, delivered: ids.length, failed: 0 });
    const listed = await b.outbox.list('shop', { limit: 1000 });
    expect(listed.every((d) => d.attempts === 1)).toBe(true);
    console.log(
      `outbox, 2 workers on one PostgreSQL: ${ids.length} deliveries, ${wa.sent.length} + ${wb.sent.length}, each once`,
    );
  });

  it("a dead worker's claimed rows are sent by the other once its lease ends, not before", async () => {
    const { rx, config } = await setup();
    const rows = Array.from({ length: 5 }, (_, i) => delivery(config, `d${i}`, 'enter'));
    const ids = await a.write((tx) => tx.outbox.enqueue(rows, Date.now()));
    // The dead worker: claims the rows for 1.5 s and is never heard of again.
    const claimedAt = Date.now();
    const claimed = await a.outbox.claim('dead-worker', claimedAt, 1500, 10);
    expect(claimed.map((d) => d.id)).toEqual(ids);
    // While the lease is in force, nobody else may claim them.
    expect(await b.outbox.claim('someone', Date.now(), 1500, 10)).toEqual([]);
    expect(await b.outbox.due(Date.now(), 10)).toEqual([]);

    const wb = worker(b, config, 'worker-b');
    wb.w.wake();
    await sleep(1000);
    expect(rx.got).toHaveLength(0);
    await rx.waitFor(5, 5000);
    for (const g of rx.got) expect(g.at).toBeGreaterThanOrEqual(claimedAt + 1500);
    await sleep(200);
    // Sent at once, in any order; each once.
    expect(rx.got.map((g) => g.headers['x-microseg-delivery']).sort()).toEqual([...ids].sort());
    expect([...wb.sent].sort()).toEqual([...ids].sort());
  });

  it('a worker alive and renewing keeps its rows however long the receiver takes', async () => {
    // The first request is answered after 2.5 s: four leases of 600 ms over.
    const { rx, config } = await setup((n) => (n === 1 ? sleep(2500).then(() => 200) : 200));
    const [id] = await a.write((tx) =>
      tx.outbox.enqueue([delivery(config, 'slow', 'enter')], Date.now()),
    );
    const wa = worker(a, config, 'worker-a', { leaseMs: 600, timeoutMs: 10_000 });
    wa.w.wake();
    await rx.waitFor(1);
    // The other worker looks again and again meanwhile.
    const wb = worker(b, config, 'worker-b', { leaseMs: 600, timeoutMs: 10_000 });
    wb.w.wake();
    for (let i = 0; i < 30 && wa.sent.length === 0; i++) await sleep(100);
    expect(wa.sent).toEqual([id]);
    await sleep(700);
    expect(rx.got).toHaveLength(1);
    expect(wb.sent).toEqual([]);
  });

  it('a worker whose lease was taken aborts its request and records nothing', async () => {
    // The receiver never answers: the worker waits, renewing every 200 ms.
    const { rx, config } = await setup(() => 'hang');
    const [id] = await a.write((tx) =>
      tx.outbox.enqueue([delivery(config, 'stolen', 'enter')], Date.now()),
    );
    const outcomes: string[] = [];
    const w = startDeliveryWorker({
      outbox: a.outbox,
      policy: { ...config.delivery, timeoutMs: 10_000 },
      now: Date.now,
      owner: 'worker-a',
      leaseMs: 600,
      secretFor: () => SECRET,
      onAttempt: (_d, outcome) => outcomes.push(outcome),
    });
    workers.push(w);
    w.wake();
    await rx.waitFor(1);
    expect(w.inFlight).toBe(1);
    // Another worker holds the row now (as after a renewal that came too late).
    await b.outbox.release('worker-a', [id ?? '']);
    expect((await b.outbox.claim('worker-b', Date.now(), 60_000, 10)).map((d) => d.id)).toEqual([
      id,
    ]);
    for (let i = 0; i < 40 && w.inFlight > 0; i++) await sleep(50);
    expect(w.inFlight).toBe(0);
    expect(outcomes).toEqual([]);
    const [row] = await b.outbox.list('shop');
    expect(row).toMatchObject({ status: 'pending', attempts: 0 });
    // Hand it back so the cleanup finds nothing pending of ours to wait on.
    await b.outbox.release('worker-b', [id ?? '']);
    await b.outbox.delivered(id ?? '', 1, 200, Date.now());
  });

  it('a worker stopped hands its unfinished rows back at once', async () => {
    // The first attempt hangs; the worker is stopped while it waits.
    const { rx, config } = await setup((n) => (n === 1 ? 'hang' : 200));
    const [id] = await a.write((tx) =>
      tx.outbox.enqueue([delivery(config, 'handed', 'enter')], Date.now()),
    );
    const wa = worker(a, config, 'worker-a', { leaseMs: 60_000 });
    wa.w.wake();
    await rx.waitFor(1);
    await wa.w.stop();
    // Not after the 60 s lease: now.
    const wb = worker(b, config, 'worker-b', { leaseMs: 60_000 });
    wb.w.wake();
    await rx.waitFor(2, 3000);
    for (let i = 0; i < 30 && wb.sent.length === 0; i++) await sleep(50);
    expect(wb.sent).toEqual([id]);
    const [row] = await b.outbox.list('shop');
    expect(row).toMatchObject({ status: 'delivered', attempts: 1 });
  });
});

describe('webhook outbox on SQLite: one process, its claim is what is due', () => {
  const tmp = tempDir();
  let s: Storage;
  beforeAll(async () => {
    s = await openStorage(`${tmp.dir}/o.db`);
  });
  afterAll(async () => {
    await s.close();
    tmp.cleanup();
  });
  it('claims, renews and releases without keeping anything', async () => {
    const config = parseConfig(shopConfig('http://127.0.0.1:9/hook'));
    const ids = await s.write((tx) =>
      tx.outbox.enqueue([delivery(config, 'x', 'enter')], Date.now()),
    );
    const now = Date.now();
    expect((await s.outbox.claim('w', now, 1000, 10)).map((d) => d.id)).toEqual(ids);
    expect(await s.outbox.due(now, 10)).toEqual(await s.outbox.claim('w2', now, 1000, 10));
    expect(await s.outbox.renew('w', ids, now + 1000)).toEqual(ids);
    await s.outbox.release('w', ids);
  });
});
