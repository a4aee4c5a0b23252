import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BACKEND, rows } from '../support/backend.ts';
import { collectRequest, ev, testApp } from '../helpers.ts';
import { fuzzPayloads, prng } from './fuzz.ts';

const N = 1500;

describe('fuzzing POST /v1/collect', () => {
  let t: Awaited<ReturnType<typeof testApp>>;
  beforeAll(async () => {
    t = await testApp();
  });
  afterAll(() => t.close());

  it(`answers ${N} hostile payloads with 2xx/4xx, never loses an accepted event`, async () => {
    const payloads = fuzzPayloads(prng(20261123), N);
    const statuses = new Map<number, number>();
    let acceptedTotal = 0;
    for (const [i, body] of payloads.entries()) {
      const res = await t.app.request(collectRequest(body));
      statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
      expect(res.status, `payload ${i}: ${String(body).slice(0, 80)}`).toBeLessThan(500);
      const json = (await res.json()) as any;
      if (res.status >= 400) {
        expect(typeof json.error).toBe('string');
        expect(typeof json.message).toBe('string');
      } else acceptedTotal += json.accepted;
      // A good batch between hostile ones is always taken.
      if (i % 100 === 0) {
        const good = await t.app.request(
          collectRequest({ site: 'demo', visitor: 'good', events: [ev({ category: 'cameras' })] }),
        );
        expect(good.status).toBe(200);
        acceptedTotal += ((await good.json()) as any).accepted;
      }
    }
    // Every acknowledged event is in the database, and nothing else is.
    expect(await t.storage.countEvents('demo')).toBe(acceptedTotal);
    expect(acceptedTotal).toBeGreaterThan(N / 10);
    expect(statuses.get(400)).toBeGreaterThan(N / 4);
    // No prototype was polluted along the way.
    expect(({} as any).polluted).toBeUndefined();
    // Hostile strings are stored as data, verbatim.
    const tables = await rows<{ name: string }>(
      t.storage,
      BACKEND === 'postgres'
        ? 'select table_name as name from information_schema.tables where table_schema = current_schema()'
        : "select name from sqlite_master where type='table'",
    );
    expect(tables.map((r) => r.name)).toContain('events');
  });
});

describe('fuzzing POST /v1/events', () => {
  const KEY = 'fuzz-api-key-0123456789';
  let t: Awaited<ReturnType<typeof testApp>>;
  beforeAll(async () => {
    // Server events trust their timestamps: the payloads carry the real time, so the clock must too.
    t = await testApp({
      config: { sites: { demo: { allowLocalhost: true, allowAutomation: true, apiKeys: [KEY] } } },
      now: Date.now(),
    });
  });
  afterAll(() => t.close());

  /** Browser-shaped payloads turned into server batches where they parse: site and visitor move into each event. */
  function asServerBody(body: string | Uint8Array): string | Uint8Array<ArrayBuffer> {
    if (typeof body !== 'string') return new Uint8Array(body);
    try {
      const b = JSON.parse(body);
      if (b && Array.isArray(b.events)) {
        return JSON.stringify({
          events: b.events.map((e: unknown) =>
            e && typeof e === 'object' ? { site: b.site, visitor: b.visitor, ...e } : e,
          ),
        });
      }
    } catch {}
    return body;
  }

  it(`answers ${N} hostile payloads with 2xx/4xx; stored events match the acknowledged count`, async () => {
    const payloads = fuzzPayloads(prng(7), N).map(asServerBody);
    let accepted = 0;
    for (const [i, body] of payloads.entries()) {
      const res = await t.app.request(
        new Request('http://localhost:8787/v1/events', {
          method: 'POST',
          headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' },
          body,
        }),
      );
      expect(res.status, `payload ${i}: ${String(body).slice(0, 80)}`).toBeLessThan(500);
      const json = (await res.json()) as any;
      if (res.status < 300) accepted += json.accepted;
      else expect(typeof json.error).toBe('string');
    }
    expect(accepted).toBeGreaterThan(N / 20);
    expect(await t.storage.countEvents('demo')).toBe(accepted);
    expect(({} as any).polluted).toBeUndefined();
  });
});
