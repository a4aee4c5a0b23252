import { afterEach, describe, expect, it } from 'vitest';
import type { Segment } from '../../shared/segment.ts';
import { SAMPLE_SEGMENT } from '../fixtures.ts';
import {
  answering,
  browserView,
  closeAll,
  COLLECTOR,
  open,
  stubFromDocs,
  token,
} from './harness.ts';

afterEach(closeAll);

const SEG: Segment = SAMPLE_SEGMENT;

describe('microseg.track', () => {
  it('maps value, currency and category to wire fields and the rest to props', async () => {
    const p = await open();
    p.run(
      `microseg.track('purchase', { value: 129.9, currency: 'EUR', category: 'cameras', sku: 'X100', gift: true })`,
    );
    p.run(`microseg.track('signup')`);
    await p.settle();
    const [, purchase, signup] = p.events();
    expect(purchase).toMatchObject({
      type: 'purchase',
      value: 129.9,
      currency: 'EUR',
      category: 'cameras',
      props: { sku: 'X100', gift: true },
      url: 'https://shop.test/products/cameras',
    });
    expect(Object.keys(signup!).sort()).toEqual(['id', 'ts', 'type', 'url']);
  });
});

describe('microseg.segment', () => {
  it('resolves the segment the last collect answer carried, without another request', async () => {
    const p = await open();
    const s = await p.run<Promise<Segment>>(`microseg.segment()`);
    expect(s).toEqual(p.sent[0]!.answer!.body.segment);
    expect(s).toMatchObject({
      site: 'demo',
      visitor: p.batches()[0]!.visitor,
      lifecycle: 'newbie',
    });
    expect(p.sent.map((r) => new URL(r.url).pathname)).toEqual(['/v1/collect']);
  });

  it('asks GET /v1/segment?site&visitor when no collect answer carried one', async () => {
    const p = await open({
      respond: (url, init, real) =>
        url.includes('/v1/collect') ? answering(null)(url, init, real) : real(),
    });
    const s = await p.run<Promise<Segment>>(`microseg.segment()`);
    const get = p.sent.at(-1)!;
    expect(s).toEqual(get.answer!.body);
    expect(s).toMatchObject({ site: 'demo', visitor: p.batches()[0]!.visitor });
    const visitor = p.batches()[0]!.visitor;
    expect(get.url).toBe(`${COLLECTOR}/v1/segment?site=demo&visitor=${visitor}`);
    expect(get.init).toBeUndefined(); // a plain GET: no cookies to a collector on another origin
  });

  it('resolves null, never rejects, when the collector is down or answers an error', async () => {
    const down = await open({ respond: () => Promise.reject(new TypeError('Failed to fetch')) });
    await expect(down.run<Promise<unknown>>(`microseg.segment()`)).resolves.toBeNull();
    const failing = await open({
      respond: () => new Response('{"error":"x","message":"y"}', { status: 500 }),
    });
    await expect(failing.run<Promise<unknown>>(`microseg.segment()`)).resolves.toBeNull();
    const garbage = await open({ respond: () => new Response('<html>') });
    await expect(garbage.run<Promise<unknown>>(`microseg.segment()`)).resolves.toBeNull();
  });
});

describe('the pre-load stub', () => {
  it('is two lines', () => {
    const stub = stubFromDocs().trim();
    expect(stub.split('\n')).toHaveLength(2);
    expect(stub.length).toBeLessThan(300);
  });

  it('queues calls made before ms.js loads and replays them in order after the load page view', async () => {
    const TOKEN = token();
    const p = await open({
      head:
        stubFromDocs() +
        `<script>
          microseg.track('early', { n: 1 });
          const heldTrack = microseg.track;
          microseg.page({ step: 2 });
          window.seg = microseg.segment();
          microseg.track('early2', { n: 3 });
          window.idResult = microseg.identify('${TOKEN}');
          window.heldTrack = heldTrack;
          window.missing = new Promise((r) => microseg.q.push(['notYetAMethod', [], r]));
        </script>`,
      respond: answering(SEG),
    });
    const events = p.events();
    expect(events.map((e) => [e.type, e.nav, e.props])).toEqual([
      ['page_view', 'load', undefined],
      ['early', undefined, { n: 1 }],
      ['page_view', 'spa', { step: 2 }],
      ['early2', undefined, { n: 3 }],
      ['identify', undefined, undefined],
    ]);
    // The first batch leaves at once with the page view and the replayed calls together.
    expect(p.batches()).toHaveLength(1);
    expect(p.batches()[0]!.token).toBe(TOKEN);
    await expect(p.run<Promise<Segment>>('window.seg')).resolves.toEqual(browserView(SEG));
    await expect(p.run<Promise<unknown>>('window.idResult')).resolves.toBeUndefined();
    // A method this version lacks resolves instead of breaking the replay.
    await expect(p.run<Promise<unknown>>('window.missing')).resolves.toBeUndefined();
    // The stub object became the API: a function captured from the stub still works after load.
    p.run(`window.heldTrack('late')`);
    await p.settle();
    expect(p.events().at(-1)!.type).toBe('late');
    expect(p.run('typeof microseg.track')).toBe('function');
  });

  it('is harmless when pasted after the script loaded', async () => {
    const p = await open();
    p.run(stubFromDocs().replace(/<\/?script>/g, ''));
    p.run(`microseg.track('after')`);
    await p.settle();
    expect(p.events().map((e) => e.type)).toEqual(['page_view', 'after']);
  });
});
