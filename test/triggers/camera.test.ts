import { afterEach, describe, expect, it } from 'vitest';
import { WEBHOOK_HEADERS } from '../../shared/webhook.ts';
import { sweepAll } from '../../collector/jobs/sweep.ts';
import { main } from '../../collector/cli/cli.ts';
import { vi } from 'vitest';
import { databaseArg } from '../support/backend.ts';
import { DAY } from '../helpers.ts';
import { startReceiver } from './receiver.ts';
import { SECRET, shopConfig, triggersApp } from './setup.ts';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const camera = (n: number) => ({ url: `http://localhost:8787/cameras/model-${n}` });

describe('camera-intent webhooks against a local receiver', () => {
  it('delivers exactly one signed delivery per transition: enter on the third view, exit on purchase and on time passing', async () => {
    const rx = await startReceiver(SECRET);
    cleanups.push(rx.close);
    const t = await triggersApp(
      shopConfig(rx.url, {
        webhooks: [
          { segment: 'camera-intent', on: 'enter', url: rx.url, secret: SECRET },
          { segment: 'camera-intent', on: 'exit', url: rx.url, secret: SECRET },
          { segment: 'key:*:cameras:hot', on: 'enter', url: rx.url, secret: SECRET },
        ],
      }),
    );
    cleanups.push(t.close);

    // Buyer: three camera views in three days → enters; then a purchase → exits.
    await t.collect('buyer', camera(1));
    t.clock.now += DAY;
    await t.collect('buyer', camera(2));
    t.clock.now += DAY;
    expect(rx.got).toHaveLength(0);
    const sent = Date.now();
    const third = await t.collect('buyer', camera(3));
    expect(third.segment.segments).toContain('camera-intent');
    const [first] = await rx.waitFor(2);
    const latency = first!.at - sent;
    await t.collect('buyer', camera(4)); // still in: no new delivery
    await t.collect('buyer', {
      type: 'purchase',
      value: 499,
      currency: 'EUR',
      url: 'http://localhost:8787/checkout',
    });
    await rx.waitFor(3);

    // Browser: same start, then eight quiet days; the next (non-camera) view finds the window empty.
    t.clock.now += DAY;
    for (let i = 0; i < 3; i++) await t.collect('browser', camera(i));
    await rx.waitFor(5);
    t.clock.now += 8 * DAY;
    await t.collect('browser', { url: 'http://localhost:8787/about' });
    await rx.waitFor(6);
    await new Promise((r) => setTimeout(r, 300)); // nothing else is on its way

    const seen = rx.got.map((g) => `${g.body.visitor} ${g.body.segment} ${g.body.change}`);
    expect(seen.sort()).toEqual(
      [
        'browser camera-intent enter',
        'browser camera-intent exit',
        'browser key:*:cameras:hot enter',
        'buyer camera-intent enter',
        'buyer camera-intent exit',
        'buyer key:*:cameras:hot enter',
      ].sort(),
    );
    for (const g of rx.got) {
      expect(g.valid).toBe(true);
      expect(g.headers[WEBHOOK_HEADERS.delivery]).toBe(g.body.id);
      expect(g.body.type).toBe(`segment.${g.body.change}`);
      expect(g.body.site).toBe('shop');
    }
    expect(new Set(rx.got.map((g) => g.body.id)).size).toBe(6);
    // Per visitor and webhook, in order: the enter reaches the receiver before the exit.
    const buyer = rx.got.filter(
      (g) => g.body.visitor === 'buyer' && g.body.segment === 'camera-intent',
    );
    expect(buyer.map((g) => g.body.change)).toEqual(['enter', 'exit']);
    expect(buyer[0]!.body.profile.segments).toEqual(['camera-intent']);
    expect(buyer[1]!.body.profile.lifecycle).toBe('new_customer');

    const list = await (await t.api('/v1/deliveries?site=shop&status=delivered')).json();
    expect(list.deliveries).toHaveLength(6);
    expect(list.deliveries.every((d: { attempts: number }) => d.attempts === 1)).toBe(true);
    console.log(`webhook delivery latency (enter → receiver, in-process): ${latency} ms`);
    expect(latency).toBeLessThan(500);
  });

  it('time alone: the sweep records the exit when the window empties, with no new event', async () => {
    const rx = await startReceiver(SECRET);
    cleanups.push(rx.close);
    const t = await triggersApp(shopConfig(rx.url));
    cleanups.push(t.close);
    for (let i = 0; i < 3; i++) await t.collect('quiet', camera(i));
    await t.collect('other', camera(0));
    await rx.waitFor(1);
    expect(await sweepAll(t.storage, t.config, t.clock.now)).toBe(0); // nothing changed yet

    t.clock.now += 7 * DAY - 60_000; // the oldest view is still inside the window
    expect(await sweepAll(t.storage, t.config, t.clock.now)).toBe(0);
    t.clock.now += 2 * 60_000; // now it has fallen out
    // Both keys moved on (hot/active → warm); only 'quiet' leaves camera-intent.
    expect(await sweepAll(t.storage, t.config, t.clock.now, 1)).toBe(2);
    const [, exit] = await rx.waitFor(2);
    expect(exit!.body).toMatchObject({
      visitor: 'quiet',
      segment: 'camera-intent',
      change: 'exit',
      at: t.clock.now,
    });
    expect(exit!.valid).toBe(true);
    expect((await t.storage.segmentHistory('shop', 'quiet')).at(-1)).toMatchObject({
      kind: 'exited',
      name: 'camera-intent',
      event: null,
    });
    const counts = (await (await t.api('/v1/segments?site=shop')).json()).segments;
    expect(counts.find((s: { name: string }) => s.name === 'camera-intent').members).toBe(0);
    expect(await sweepAll(t.storage, t.config, t.clock.now)).toBe(0); // recorded once
    await new Promise((r) => setTimeout(r, 150));
    expect(rx.got).toHaveLength(2);
  });

  it('a receiver that fails twice gets the delivery on the third attempt, same id each time', async () => {
    const rx = await startReceiver(SECRET, (n) => (n <= 2 ? 503 : 200));
    cleanups.push(rx.close);
    const t = await triggersApp(shopConfig(rx.url));
    cleanups.push(t.close);
    for (let i = 0; i < 3; i++) await t.collect('v', camera(i));
    await rx.waitFor(3);
    await new Promise((r) => setTimeout(r, 200));
    expect(rx.got).toHaveLength(3);
    expect(new Set(rx.got.map((g) => g.body.id)).size).toBe(1);
    expect(rx.got.every((g) => g.valid)).toBe(true);
    // Backoff: each retry waits at least half its step (20 ms, then 40 ms).
    expect(rx.got[1]!.at - rx.got[0]!.at).toBeGreaterThanOrEqual(9);
    expect(rx.got[2]!.at - rx.got[1]!.at).toBeGreaterThanOrEqual(19);
    const d = await (await t.api(`/v1/deliveries/${rx.got[0]!.body.id}?site=shop`)).json();
    expect(d).toMatchObject({ status: 'delivered', attempts: 3, lastStatus: 200, lastError: null });
  });

  it('gives up after the retry limit, lists the failure, and replays it on request', async () => {
    let up = false;
    const rx = await startReceiver(SECRET, () => (up ? 200 : 500));
    cleanups.push(rx.close);
    const file = shopConfig(rx.url);
    (file as { delivery: object }).delivery = {
      attempts: 2,
      backoffMs: 10,
      maxBackoffMs: 10,
      pollMs: 30,
    };
    const t = await triggersApp(file);
    cleanups.push(t.close);
    for (let i = 0; i < 3; i++) await t.collect('v', camera(i));
    await rx.waitFor(2);
    let failed: { id: string; status: string; attempts: number; lastStatus: number }[] = [];
    for (let i = 0; i < 50 && failed.length === 0; i++) {
      await new Promise((r) => setTimeout(r, 20));
      failed = (await (await t.api('/v1/deliveries?site=shop&status=failed')).json()).deliveries;
    }
    expect(failed).toHaveLength(1);
    expect(failed[0]).toMatchObject({ attempts: 2, lastStatus: 500 });
    expect(rx.got).toHaveLength(2);

    // The CLI on the same database (file or URL) lists the failure.
    const log = vi.spyOn(console, 'log').mockImplementation(() => {});
    const db = databaseArg(t.storage);
    expect(
      await main(['deliveries', '--db', db, '--site', 'shop', '--status', 'failed', '--json']),
    ).toBe(0);
    expect(log.mock.calls.map((c) => JSON.parse(c[0] as string).id)).toEqual([failed[0]!.id]);
    log.mockRestore();

    const pending = await t.api(`/v1/deliveries/${rx.got[0]!.body.id}/replay?site=shop`, {
      method: 'POST',
    });
    expect(pending.status).toBe(202);
    up = true;
    await rx.waitFor(3);
    expect(rx.got[2]!.body.id).toBe(failed[0]!.id);
    await new Promise((r) => setTimeout(r, 50));
    const again = await t.api(`/v1/deliveries/${failed[0]!.id}/replay?site=shop`, {
      method: 'POST',
    });
    expect(again.status).toBe(409);
    expect(await again.json()).toMatchObject({ error: 'not_failed' });
    expect(
      (await t.api('/v1/deliveries/dlv_nope/replay?site=shop', { method: 'POST' })).status,
    ).toBe(404);
    expect((await t.api('/v1/deliveries?site=shop&status=lost')).status).toBe(400);
    const quiet = vi.spyOn(console, 'error').mockImplementation(() => {});
    expect(await main(['deliveries', 'replay', failed[0]!.id, '--db', db, '--site', 'shop'])).toBe(
      2,
    ); // delivered now: nothing to replay
    quiet.mockRestore();
  });

  it('measures delivery latency: enter → receiver, over 20 transitions', async () => {
    const rx = await startReceiver(SECRET);
    cleanups.push(rx.close);
    const t = await triggersApp(shopConfig(rx.url));
    cleanups.push(t.close);
    const latencies: number[] = [];
    for (let v = 0; v < 20; v++) {
      for (let i = 0; i < 2; i++) await t.collect(`m${v}`, camera(i));
      const sent = performance.timeOrigin + performance.now();
      await t.collect(`m${v}`, camera(2));
      const got = await rx.waitFor(v + 1);
      latencies.push(got[v]!.at - sent);
    }
    latencies.sort((a, b) => a - b);
    const median = latencies[10]!;
    console.log(
      `webhook delivery latency over 20 enters: median ${median.toFixed(1)} ms, max ${latencies[19]!.toFixed(1)} ms`,
    );
    expect(median).toBeLessThan(200);
  });

  it('a receiver that never answers slows neither ingest nor the other receivers', async () => {
    const dead = await startReceiver(SECRET, () => 'hang');
    const alive = await startReceiver(SECRET);
    cleanups.push(dead.close, alive.close);
    const file = shopConfig(dead.url, {
      webhooks: [
        { segment: 'camera-intent', on: 'enter', url: dead.url, secret: SECRET },
        { segment: 'key:*:cameras:hot', on: 'enter', url: alive.url, secret: SECRET },
      ],
    });
    (file as { delivery: object }).delivery = { timeoutMs: 5000, concurrency: 2, pollMs: 50 };
    const t = await triggersApp(file);
    cleanups.push(t.close);
    // Twenty visitors enter both: twenty deliveries to a receiver that hangs, twenty to one that answers.
    const times: number[] = [];
    for (let v = 0; v < 20; v++) {
      for (let i = 0; i < 3; i++) {
        const t0 = performance.now();
        await t.collect(`v${v}`, camera(i));
        times.push(performance.now() - t0);
      }
    }
    // Awaiting a delivery would cost the 5 s timeout; ingest takes milliseconds (slack for a busy CI box).
    expect(Math.max(...times)).toBeLessThan(1000);
    await alive.waitFor(20, 3000);
    expect(dead.got).toHaveLength(1); // the hanging webhook holds its one slot, no more
    for (let i = 0; i < 50 && t.hooks.worker.inFlight > 1; i++)
      await new Promise((r) => setTimeout(r, 10));
    expect(t.hooks.worker.inFlight).toBe(1);
    const pending = (await (await t.api('/v1/deliveries?site=shop&status=pending')).json())
      .deliveries;
    expect(pending).toHaveLength(20);
    expect(new Set(pending.map((d: { segment: string }) => d.segment))).toEqual(
      new Set(['camera-intent']),
    );
    // Each delivery reached the live receiver once: none was sent again because recording its
    // answer failed.
    expect(new Set(alive.got.map((g) => g.body.id)).size).toBe(alive.got.length);
  });
});
