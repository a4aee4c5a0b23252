import { afterEach, describe, expect, it } from 'vitest';
import type { Segment } from '../../shared/segment.ts';
import { segmentWith } from '../fixtures.ts';
import {
  answering,
  browserView,
  closeAll,
  open,
  record,
  sleep,
  stored,
  stubFromDocs,
} from './harness.ts';

afterEach(closeAll);

const SEG: Segment = segmentWith({ affinity: { cameras: 1 }, segments: [], updated: 1 });

const collector = answering(SEG);

describe('microseg.optOut()', () => {
  it('forgets the ids, the cached segment and the queue, and sends nothing from then on', async () => {
    const p = await open({ respond: collector });
    expect(record(p)).toMatchObject({ v: expect.any(String), g: expect.any(Array) });
    p.run(`microseg.track('before')`); // buffered, not yet sent
    p.run(`microseg.optOut()`);
    expect(record(p)).toEqual({ o: 1 });
    p.run(`microseg.track('after'); microseg.page(); microseg.identify('tok')`);
    await sleep(1100);
    await p.settle();
    expect(p.sent).toHaveLength(1); // the load batch, before the opt-out
    await expect(p.run<Promise<unknown>>('microseg.segment()')).resolves.toBeNull();
    expect(p.sent).toHaveLength(1);
    expect(record(p)).toEqual({ o: 1 });
  });

  it('holds on later loads: no page view, nothing stored, segment() null, the API and stub still resolve', async () => {
    const p = await open({
      storage: stored({ o: 1 }),
      respond: collector,
      head:
        stubFromDocs() +
        `<script>window.early = microseg.segment(); microseg.track('queued')</script>`,
    });
    await sleep(1100);
    await p.settle();
    await expect(p.run<Promise<unknown>>('window.early')).resolves.toBeNull();
    p.run(`microseg.track('x'); dispatchEvent(new Event('pagehide'))`);
    expect(p.sent).toEqual([]);
    expect(record(p)).toEqual({ o: 1 });
    expect(p.document.documentElement.hasAttribute('data-ms-segment')).toBe(false);
  });

  it('takes effect at once when another tab opts out', async () => {
    const p = await open();
    p.window.localStorage.setItem('ms', JSON.stringify({ o: 1 }));
    p.run(`microseg.track('a')`);
    await sleep(1100);
    await p.settle();
    expect(p.sent).toHaveLength(1);
  });
});

describe('Do-Not-Track and Global Privacy Control', () => {
  for (const [name, nav] of [
    ['DNT', { doNotTrack: '1' }],
    ['GPC', { globalPrivacyControl: true }],
  ] as const) {
    it(`${name}: sends nothing, stores nothing, segment() resolves null`, async () => {
      const p = await open({
        navigator: nav,
        respond: collector,
        storage: stored({ v: 'old', g: [SEG, Date.now()] }),
      });
      p.run(`microseg.track('a'); microseg.identify('tok')`);
      await sleep(1100);
      p.run(`dispatchEvent(new Event('pagehide'))`);
      await p.settle();
      await expect(p.run<Promise<unknown>>('microseg.segment()')).resolves.toBeNull();
      expect(p.sent).toEqual([]);
      // What an earlier visit stored is neither read nor changed.
      expect(record(p)).toEqual({ v: 'old', g: [browserView(SEG), expect.any(Number)] });
      expect(p.document.documentElement.hasAttribute('data-ms-segment')).toBe(false);
    });
  }

  it('tracks as usual when the tag says the site has consent (data-consent)', async () => {
    const p = await open({
      navigator: { doNotTrack: '1', globalPrivacyControl: true },
      attrs: 'data-site="demo" data-consent',
    });
    expect(p.events().map((e) => e.type)).toEqual(['page_view']);
    expect(record(p).v).toBe(p.batches()[0]!.visitor);
  });

  it('ignores DNT values other than "1"', async () => {
    const p = await open({ navigator: { doNotTrack: '0', globalPrivacyControl: false } });
    expect(p.events()).toHaveLength(1);
  });
});
