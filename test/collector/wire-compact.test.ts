import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { expandCompact } from '../../collector/ingest/wire-compact.ts';
import { CLOCK, LIMITS } from '../../shared/limits.ts';
import type { CompactBatch, CollectResponse } from '../../shared/wire.ts';
import { collectRequest, T0, testApp } from '../helpers.ts';
import { row } from '../support/backend.ts';

const PAGE = 'https://shop.test/products/cameras';
const REF = 'https://search.example/';
/** The one event of a compact batch, expanded. */
const expandOne = (e: Record<string, unknown>) =>
  (expandCompact({ s: 'demo', v: 'v', e: [e] }) as any).events[0];

describe('expandCompact', () => {
  it('renames every key of a batch and its events, and moves value, currency and category out of props', () => {
    const compact: CompactBatch = {
      s: 'demo',
      v: 'v1',
      k: 'TOKEN',
      w: true,
      d: 3,
      e: [
        {
          i: 'e1',
          y: 'page_view',
          t: T0,
          s: 'S1',
          u: PAGE,
          r: REF,
          n: 'load',
          p: { category: 'cameras' },
        },
        {
          i: 'e2',
          y: 'purchase',
          t: T0,
          s: 'S1',
          u: PAGE,
          p: { value: 129.9, currency: 'EUR', sku: 'X100', gift: 1 },
        },
      ],
    };
    expect(expandCompact(compact)).toEqual({
      site: 'demo',
      visitor: 'v1',
      token: 'TOKEN',
      webdriver: true,
      dropped: 3,
      events: [
        {
          id: 'e1',
          type: 'page_view',
          ts: T0,
          session: 'S1',
          url: PAGE,
          ref: REF,
          nav: 'load',
          category: 'cameras',
        },
        {
          id: 'e2',
          type: 'purchase',
          ts: T0,
          session: 'S1',
          url: PAGE,
          value: 129.9,
          currency: 'EUR',
          props: { sku: 'X100', gift: 1 },
        },
      ],
    });
  });

  it('tells the type of an event without one: with n a page_view, with h a click; else none (refused)', () => {
    expect(expandOne({ i: 'e1', t: T0, u: PAGE, n: 'spa' }).type).toBe('page_view');
    expect(expandOne({ i: 'e1', t: T0, u: PAGE, h: '/x' }).type).toBe('click');
    // A type the event states wins; an event with neither stays without one, for the schema to refuse.
    expect(expandOne({ i: 'e1', y: 'pv', t: T0, u: PAGE, n: 'spa' }).type).toBe('pv');
    expect('type' in expandOne({ i: 'e1', t: T0, u: PAGE })).toBe(false);
  });

  it('takes null, "", false, 0 and {} as absent, but keeps a value of 0 and an empty href', () => {
    const out = expandCompact({
      s: 'demo',
      v: 'v1',
      k: null,
      w: false,
      d: 0,
      e: [
        { i: 'e1', y: 'x', t: T0, u: PAGE, r: '', p: {} },
        { i: 'e2', y: 'purchase', t: T0, u: PAGE, p: { value: 0, category: null, currency: '' } },
        { i: 'e3', y: 'click', t: T0, u: PAGE, h: '' },
      ],
    });
    expect(out).toEqual({
      site: 'demo',
      visitor: 'v1',
      events: [
        { id: 'e1', type: 'x', ts: T0, url: PAGE },
        { id: 'e2', type: 'purchase', ts: T0, url: PAGE, value: 0 },
        { id: 'e3', type: 'click', ts: T0, url: PAGE, target: PAGE, outbound: false },
      ],
    });
  });

  it('resolves a link target against the page URL and tells outbound links by origin', () => {
    const target = (h: string) => expandOne({ i: 'e', y: 'click', t: T0, u: PAGE, h });
    expect(target('/bags')).toMatchObject({ target: 'https://shop.test/bags', outbound: false });
    expect(target('../lenses/35mm')).toMatchObject({
      target: 'https://shop.test/lenses/35mm',
      outbound: false,
    });
    expect(target('https://reviews.example/x')).toMatchObject({
      target: 'https://reviews.example/x',
      outbound: true,
    });
    expect(target('mailto:hi@shop.test')).toMatchObject({
      target: 'mailto:hi@shop.test',
      outbound: true,
    });
    // Not a URL even against the page: sent on as written, no guess at outbound.
    expect(target('http://[')).toEqual({
      id: 'e',
      type: 'click',
      ts: T0,
      url: PAGE,
      target: 'http://[',
    });
  });

  it('cuts URLs longer than the limit instead of losing the event', () => {
    const long = `${PAGE}?q=${'x'.repeat(3000)}`;
    const e = expandOne({ i: 'e', y: 'click', t: T0, u: long, r: long, h: long });
    expect([e.url, e.ref, e.target]).toEqual(
      [long, long, long].map((u) => u.slice(0, LIMITS.urlLength)),
    );
  });

  it('leaves a long-form batch, and anything else, as it is', () => {
    const long = { site: 'demo', visitor: 'v', events: [{ id: 'e', type: 'x', ts: T0 }], e: 1 };
    expect(expandCompact(long)).toBe(long);
    for (const body of [null, 'x', [], { s: 'demo' }]) expect(expandCompact(body)).toBe(body);
  });

  it('passes keys it does not know on unchanged, for the schema to name', () => {
    expect(
      expandCompact({ s: 'demo', v: 'v', e: [{ i: 'e', y: 'x', t: T0, zz: 1 }], q: 2 }),
    ).toEqual({
      site: 'demo',
      visitor: 'v',
      q: 2,
      events: [{ id: 'e', type: 'x', ts: T0, zz: 1 }],
    });
  });
});

describe('stale events of a compact batch: the retry queue age limit', () => {
  const AGE = CLOCK.maxEventAgeMs;
  const e = (i: string, t: number) => ({ i, y: 'x', t });
  const ids = (b: unknown) => (b as { events: { id: string }[] }).events.map((x) => x.id);

  it('drops events older than the max event age by both clocks, and counts them with dropped', () => {
    const now = T0 + 10 * AGE;
    const out = expandCompact(
      { s: 'demo', v: 'v', d: 2, e: [e('old', now - AGE - 1), e('new', now)] },
      now,
    ) as any;
    expect(ids(out)).toEqual(['new']);
    expect(out.dropped).toBe(3);
  });

  it('keeps everything of a browser whose clock is more than the max age behind (clamped as usual)', () => {
    const now = T0 + 10 * AGE;
    const out = expandCompact(
      { s: 'demo', v: 'v', e: [e('a', now - 2 * AGE), e('b', now - 2 * AGE + 5)] },
      now,
    );
    expect(ids(out)).toEqual(['a', 'b']);
    expect((out as any).dropped).toBeUndefined();
  });

  it('drops nothing without the collector clock, nor from a long-form batch', () => {
    const now = T0 + 10 * AGE;
    expect(ids(expandCompact({ s: 'demo', v: 'v', e: [e('old', T0), e('new', now)] }))).toEqual([
      'old',
      'new',
    ]);
    const long = { site: 'demo', visitor: 'v', events: [{ id: 'old', type: 'x', ts: T0 }] };
    expect(expandCompact(long, now)).toBe(long);
  });
});

describe('POST /v1/collect with a compact body', () => {
  let t: Awaited<ReturnType<typeof testApp>>;
  beforeEach(async () => {
    t = await testApp();
  });
  afterEach(() => t.close());

  it('stores it as the long form would be stored', async () => {
    const body: CompactBatch = {
      s: 'demo',
      v: 'v1',
      e: [
        {
          i: 'c1',
          y: 'click',
          t: T0,
          u: 'http://localhost:8787/demo/',
          h: 'cart',
          p: { category: 'cameras' },
        },
      ],
    };
    const res = await t.app.request(collectRequest(body));
    expect(res.status).toBe(200);
    expect(((await res.json()) as CollectResponse).accepted).toBe(1);
    const stored = await row(
      t.storage,
      'SELECT type, target, outbound, category FROM events WHERE id = ?',
      'c1',
    );
    const cart = 'http://localhost:8787/demo/cart';
    expect(stored).toEqual({
      type: 'click',
      target: cart,
      outbound: 0,
      category: 'cameras',
    });
  });

  it('refuses what the long form would refuse, naming the long field', async () => {
    const res = await t.app.request(
      collectRequest({ s: 'demo', v: 'bad visitor!', e: [{ i: 'c1', y: 'x', t: T0 }] }),
    );
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({
      error: 'invalid_batch',
      message: expect.stringContaining('visitor'),
    });
  });
});
