import { afterEach, describe, expect, it } from 'vitest';
import type { CompactEvent } from '../../shared/wire.ts';
import { CLOCK, LIMITS, SNIPPET_BATCH } from '../../shared/limits.ts';
import {
  closeAll,
  collector,
  open,
  record,
  sleep,
  stored,
  token,
  type Responder,
} from './harness.ts';

afterEach(closeAll);

/** What the retry queue keeps at most (snippet/transport.ts). */
const KEPT = 50;

const down: Responder = () => Promise.reject(new TypeError('Failed to fetch'));
const status =
  (code: number): Responder =>
  () =>
    new Response('{"error":"x","message":"x"}', { status: code });
const ok: Responder = (_url, _init, real) => real();

/** A minute ago: queued events younger than the collector's max event age. */
const AGO = Date.now() - 60e3;
/** Events as an earlier page kept them (compact form: i id, y type, t ts). */
const kept = (n: number, from = 0): CompactEvent[] =>
  Array.from({ length: n }, (_, i) => ({ i: `kept-${from + i}`, y: 'e', t: AGO + from + i }));
/** A stored retry queue: events, how many were dropped, their token. */
const queue = (e: CompactEvent[], d?: number, k?: string) => stored({ v: 'v1', q: { e, d, k } });

const ids = (events: { id: string }[]) => events.map((e) => e.id);
/** Ids of stored (compact) events. */
const keptIds = (events: CompactEvent[]) => events.map((e) => e.i);

describe('the retry queue', () => {
  it('fits a full queue and a full buffer into one batch the collector accepts', () => {
    expect(KEPT + SNIPPET_BATCH).toBeLessThanOrEqual(LIMITS.batchEvents);
  });

  it('keeps the events (and token) of a batch whose fetch fails, and the next page load sends them again, same ids', async () => {
    const TOK = token();
    const first = await open({ url: `https://shop.test/a?ms_t=${TOK}`, respond: down });
    const [failed] = first.batches();
    expect(failed!.token).toBe(TOK);
    const { e, d, k } = record(first).q;
    expect(keptIds(e)).toEqual(ids(failed!.events));
    expect([d, k]).toEqual([0, TOK]);

    const next = await open({
      storage: { ms: first.window.localStorage.getItem('ms')! },
      respond: ok,
    });
    const [b] = next.batches();
    expect(b!.via).toBe('fetch');
    expect(ids(b!.events)).toEqual([...ids(failed!.events), next.events().at(-1)!.id]);
    expect(b!.events.map((e) => e.type)).toEqual(['page_view', 'page_view']);
    expect(b!.token).toBe(TOK);
    expect('dropped' in b!).toBe(false);
    expect('q' in record(next)).toBe(false); // delivered: forgotten
    expect(
      collector()
        .events()
        .map((e) => e.id),
    ).toEqual(ids(b!.events));
  });

  for (const code of [500, 503, 429]) {
    it(`keeps a batch answered ${code}`, async () => {
      const p = await open({ respond: status(code) });
      expect(keptIds(record(p).q.e)).toEqual(ids(p.events()));
    });
  }

  for (const code of [400, 403, 413]) {
    it(`does not keep a batch answered ${code} (sent again it would be refused again), but counts it`, async () => {
      const p = await open({ storage: queue(kept(2)), respond: status(code) });
      expect(p.events()).toHaveLength(3);
      expect(record(p).q).toEqual({ e: [], d: 3 });
    });
  }

  it(`keeps at most ${KEPT} events, drops the oldest first, and sends how many it dropped (then forgets the count)`, async () => {
    const p = await open({ storage: queue(kept(KEPT), 3), respond: down });
    const [failed] = p.batches();
    expect(failed!.events).toHaveLength(KEPT + 1);
    expect(failed!.dropped).toBe(3);
    const { e, d } = record(p).q;
    // The oldest kept event is gone; the page view of this load is the newest.
    expect(keptIds(e)).toEqual([...keptIds(kept(KEPT - 1, 1)), failed!.events.at(-1)!.id]);
    expect(d).toBe(4);

    const next = await open({ storage: { ms: p.window.localStorage.getItem('ms')! }, respond: ok });
    next.run(`microseg.track('later')`);
    await next.settle();
    const [resent, later] = next.batches();
    expect(resent!.dropped).toBe(4);
    expect(ids(resent!.events.slice(0, KEPT))).toEqual(keptIds(e));
    expect('dropped' in later!).toBe(false);
    expect(ids(later!.events)).toEqual([next.events().at(-1)!.id]);
  });

  it('sends the queue again when the network comes back (online)', async () => {
    let respond = down;
    const p = await open({ respond: (url, init, real) => respond(url, init, real) });
    const first = ids(p.events());
    expect(keptIds(record(p).q.e)).toEqual(first);
    respond = ok;
    p.run(`dispatchEvent(new Event('online'))`);
    await p.settle();
    const [, again] = p.batches();
    expect(again!.via).toBe('fetch');
    expect(ids(again!.events)).toEqual(first);
    expect('q' in record(p)).toBe(false);
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
      respond: (url, init, real) =>
        calls++ ? down(url, init, real) : sleep(100).then(() => down(url, init, real)),
    });
    for (let i = 0; i < 100 && calls === 0; i++) await sleep(5);
    p.run(`microseg.track('a'); dispatchEvent(new Event('online'))`);
    await sleep(200);
    await p.settle();
    const [load, later] = p.batches();
    expect(later!.events.map((e) => e.type)).toEqual(['a']);
    expect(keptIds(record(p).q.e).sort()).toEqual(
      [...ids(load!.events), ...ids(later!.events)].sort(),
    );
  });

  it('leaves the queue in storage when the page is left: the leaving batch carries only the new events', async () => {
    const p = await open({ storage: queue(kept(2)), respond: down });
    p.run(`microseg.track('bye'); dispatchEvent(new Event('pagehide'))`);
    const leaving = p.batches().at(-1)!;
    expect(leaving.events.map((e) => e.type)).toEqual(['bye']);
    // The load batch failed and was kept; the leaving one was kept before it went.
    expect(keptIds(record(p).q.e)).toEqual([
      ...keptIds(kept(2)),
      p.events()[2]!.id,
      leaving.events[0]!.id,
    ]);
  });

  it('keeps a leaving batch before it goes: a tab closed while the collector is down sends it with the next visit', async () => {
    // The leaving beacon never arrives, and the page, gone, could not learn it.
    const first = await open({ beaconLost: true });
    first.run(`microseg.track('add_to_cart'); dispatchEvent(new Event('pagehide'))`);
    expect(first.sent.at(-1)!.via).toBe('beacon');
    const next = await open({ storage: { ms: first.window.localStorage.getItem('ms')! } });
    expect(next.batches()[0]!.events.map((e) => e.type)).toEqual(['add_to_cart', 'page_view']);
    await next.settle();
    expect(
      collector()
        .events()
        .map((e) => e.type),
    ).toEqual(['page_view', 'add_to_cart', 'page_view']);
  });

  it('works in memory for the page when localStorage throws', async () => {
    let respond = down;
    const p = await open({
      storage: false,
      respond: (url, init, real) => respond(url, init, real),
    });
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
    const dnt = await open({ navigator: { doNotTrack: '1' }, storage: queue(kept(2)) });
    expect(dnt.sent).toEqual([]);
    expect(record(dnt).q).toEqual({ e: kept(2) });
  });
});

describe('issue 11: a failed batch never breaks the queue', () => {
  /** The first collect request answers `first`; every later one reaches the collector. */
  const firstFails = (first: Responder): Responder => {
    let calls = 0;
    return (url, init, real) =>
      url.includes('/v1/collect') && calls++ === 0 ? first(url, init, real) : real();
  };
  const types = () =>
    collector()
      .events()
      .map((e) => e.type);

  it('sends a failed batch again as the collector accepts it: no "token": null (every browser)', async () => {
    const p = await open({ respond: firstFails(down) });
    p.run(`dispatchEvent(new Event('online'))`);
    await p.settle();
    const [failed, again] = p.sent.filter((s) => s.url.endsWith('/v1/collect'));
    expect(again!.body).not.toContain('null');
    expect(again!.answer!.status).toBe(200);
    expect(
      collector()
        .events()
        .map((e) => e.id),
    ).toEqual(ids(p.batches()[0]!.events));
    expect(failed!.status).toBeUndefined(); // the network error
  });

  it('drops a batch the collector refuses (4xx but 429) and counts its events in the next batch', async () => {
    const p = await open({ respond: firstFails(status(400)) });
    p.run(`microseg.track('later'); dispatchEvent(new Event('online'))`);
    await p.settle();
    const [, next] = p.batches();
    expect(next!.events.map((e) => e.type)).toEqual(['later']);
    expect(next!.dropped).toBe(1);
    expect(types()).toEqual(['later']);
    expect(p.batches()).toHaveLength(2); // never sent again
  });

  it('drops a batch with a forged token once, counted, and sends the next without that token', async () => {
    const p = await open({ url: 'https://shop.test/?ms_t=forged-token', refusals: true });
    expect(p.refused).toHaveLength(1);
    p.run(`microseg.track('later'); dispatchEvent(new Event('online'))`);
    await p.settle();
    const [, next] = p.batches();
    expect(next!).toMatchObject({ dropped: 1, events: [{ type: 'later' }] });
    expect('token' in next!).toBe(false);
    expect(p.refused).toHaveLength(1);
    expect(types()).toEqual(['later']);
  });

  it(`drops queued events older than the max event age (${CLOCK.maxEventAgeMs / 864e5} d), counted`, async () => {
    const first = await open({ respond: down });
    first.advance(-CLOCK.maxEventAgeMs - 60e3);
    first.run(`microseg.track('stale')`);
    await first.settle();
    // A week later, for the collector too: it drops the stale event and counts it (wire-compact.ts).
    first.advance(CLOCK.maxEventAgeMs + 60e3);
    const next = await open({ storage: { ms: first.window.localStorage.getItem('ms')! } });
    const [b] = next.batches();
    expect(b!.events.map((e) => e.type)).toEqual(['page_view', 'page_view']);
    expect(b!.dropped).toBe(1);
    expect(types()).toEqual(['page_view', 'page_view']);
  });
});
