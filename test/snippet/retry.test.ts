import { afterEach, describe, expect, it } from 'vitest';
import type { WireEvent } from '../../shared/wire.ts';
import { LIMITS, SNIPPET_BATCH } from '../../shared/limits.ts';
import { closeAll, collectOk, open, record, sleep, stored, type Responder } from './harness.ts';

afterEach(closeAll);

/** What the retry queue keeps at most (snippet/transport.ts). */
const KEPT = 50;

const down: Responder = () => Promise.reject(new TypeError('Failed to fetch'));
const status = (code: number): Responder => () => new Response('{"error":"x","message":"x"}', { status: code });
const ok: Responder = () => new Response(JSON.stringify(collectOk()));

/** Events as an earlier page kept them. */
const kept = (n: number, from = 0): WireEvent[] =>
  Array.from({ length: n }, (_, i) => ({ id: `kept-${from + i}`, type: 'e', ts: 1_700_000_000_000 + i }));

const ids = (events: { id: string }[]) => events.map((e) => e.id);

describe('the retry queue', () => {
  it('fits a full queue and a full buffer into one batch the collector accepts', () => {
    expect(KEPT + SNIPPET_BATCH).toBeLessThanOrEqual(LIMITS.batchEvents);
  });

  it('keeps the events (and token) of a batch whose fetch fails, and the next page load sends them again, same ids', async () => {
    const first = await open({ url: 'https://shop.test/a?ms_t=TOK', respond: down });
    const [failed] = first.batches();
    expect(failed!.token).toBe('TOK');
    const [events, dropped, token] = record(first).b;
    expect(ids(events)).toEqual(ids(failed!.events));
    expect([dropped, token]).toEqual([0, 'TOK']);

    const next = await open({ storage: { ms: first.window.localStorage.getItem('ms')! }, respond: ok });
    const [b] = next.batches();
    expect(b!.via).toBe('fetch');
    expect(ids(b!.events)).toEqual([...ids(failed!.events), next.events().at(-1)!.id]);
    expect(b!.events.map((e) => e.type)).toEqual(['page_view', 'page_view']);
    expect(b!.token).toBe('TOK');
    expect('dropped' in b!).toBe(false);
    expect('b' in record(next)).toBe(false); // delivered: forgotten
  });

  for (const code of [500, 503, 429]) {
    it(`keeps a batch answered ${code}`, async () => {
      const p = await open({ respond: status(code) });
      expect(ids(record(p).b[0])).toEqual(ids(p.events()));
    });
  }

  for (const code of [400, 403, 413]) {
    it(`does not keep a batch answered ${code}: sent again it would be refused again`, async () => {
      const p = await open({ storage: stored({ v: 'v1', b: [kept(2), 0] }), respond: status(code) });
      expect(p.events()).toHaveLength(3);
      expect('b' in record(p)).toBe(false);
    });
  }

  it(`keeps at most ${KEPT} events, drops the oldest first, and sends how many it dropped (then forgets the count)`, async () => {
    const p = await open({ storage: stored({ v: 'v1', b: [kept(KEPT), 3] }), respond: down });
    const [failed] = p.batches();
    expect(failed!.events).toHaveLength(KEPT + 1);
    expect(failed!.dropped).toBe(3);
    const [events, dropped] = record(p).b;
    // The oldest kept event is gone; the page view of this load is the newest.
    expect(ids(events)).toEqual([...ids(kept(KEPT - 1, 1)), failed!.events.at(-1)!.id]);
    expect(dropped).toBe(4);

    const next = await open({ storage: { ms: p.window.localStorage.getItem('ms')! }, respond: ok });
    next.run(`microseg.track('later')`);
    await next.settle();
    const [resent, later] = next.batches();
    expect(resent!.dropped).toBe(4);
    expect(resent!.events.slice(0, KEPT)).toEqual(events);
    expect('dropped' in later!).toBe(false);
    expect(ids(later!.events)).toEqual([next.events().at(-1)!.id]);
  });

  it('sends the queue again when the network comes back (online)', async () => {
    let respond = down;
    const p = await open({ respond: (url, init) => respond(url, init) });
    const first = ids(p.events());
    expect(ids(record(p).b[0])).toEqual(first);
    respond = ok;
    p.run(`dispatchEvent(new Event('online'))`);
    await p.settle();
    const [, again] = p.batches();
    expect(again!.via).toBe('fetch');
    expect(ids(again!.events)).toEqual(first);
    expect('b' in record(p)).toBe(false);
    // Nothing left: another online event sends nothing.
    p.run(`dispatchEvent(new Event('online'))`);
    await p.settle();
    expect(p.batches()).toHaveLength(2);
  });

  it('merges batches failing while others are in flight: each event kept once', async () => {
    // The load batch fails slowly; a later batch leaves (online) and fails first.
    let calls = 0;
    const p = await open({
      wait: false,
      respond: () => (calls++ ? down('', {}) : sleep(100).then(() => down('', {}))),
    });
    for (let i = 0; i < 100 && calls === 0; i++) await sleep(5);
    p.run(`microseg.track('a'); dispatchEvent(new Event('online'))`);
    await sleep(200);
    await p.settle();
    const [load, later] = p.batches();
    expect(later!.events.map((e) => e.type)).toEqual(['a']);
    expect(ids(record(p).b[0]).sort()).toEqual([...ids(load!.events), ...ids(later!.events)].sort());
  });

  it('leaves the queue in storage when the page is left: a beacon carries only the new events', async () => {
    const p = await open({ storage: stored({ v: 'v1', b: [kept(2), 0] }), respond: down });
    p.run(`microseg.track('bye'); dispatchEvent(new Event('pagehide'))`);
    const beacon = p.batches().at(-1)!;
    expect(beacon.via).toBe('beacon');
    expect(beacon.events.map((e) => e.type)).toEqual(['bye']);
    expect(ids(record(p).b[0])).toEqual([...ids(kept(2)), p.events()[2]!.id]);
  });

  it('works in memory for the page when localStorage throws', async () => {
    let respond = down;
    const p = await open({ storage: false, respond: (url, init) => respond(url, init) });
    respond = ok;
    p.run(`dispatchEvent(new Event('online'))`);
    await p.settle();
    const [load, again] = p.batches();
    expect(ids(again!.events)).toEqual(ids(load!.events));
  });

  it('is forgotten on opt-out, and not sent under DNT', async () => {
    const p = await open({ respond: down });
    p.run(`microseg.optOut(); dispatchEvent(new Event('online'))`);
    await p.settle();
    expect(p.batches()).toHaveLength(1);
    expect(record(p)).toEqual({ o: 1 });
    const dnt = await open({ navigator: { doNotTrack: '1' }, storage: stored({ v: 'v1', b: [kept(2), 0] }) });
    expect(dnt.sent).toEqual([]);
    expect(record(dnt).b).toEqual([kept(2), 0]);
  });
});
