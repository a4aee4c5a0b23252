import { afterEach, describe, expect, it } from 'vitest';
import type { Segment } from '../../shared/segment.ts';
import { SAMPLE_SEGMENT, segmentWith } from '../fixtures.ts';
import {
  answering,
  browserView,
  closeAll,
  open,
  type Page,
  RULES_SRC,
  SCRIPT_SRC,
  type Responder,
  sleep,
  record,
  stored,
} from './harness.ts';

afterEach(closeAll);

const base = SAMPLE_SEGMENT;
const seg = segmentWith;

/** The collector, answering a batch with events with `collect`, one without (`segment()`) with `get`. */
const collector = answering;

/** The collector, its answers held until released; a batch with events gets a loyalist, one without the base. */
function held() {
  const pending: (() => void)[] = [];
  const loyalist = seg({ lifecycle: 'loyalist', segment: 'loyalist:cameras:hot' });
  const respond: Responder = (url, init, real) =>
    new Promise((resolve) =>
      pending.push(() => resolve(answering(loyalist, base)(url, init, real))),
    );
  const release = () => {
    for (const f of pending.splice(0)) f();
  };
  return { respond, release };
}

const cached = (s: Segment, age = 0) => stored({ v: 'v1', g: [s, Date.now() - age] });

const hidden = (p: Page, id: string) =>
  (p.document.getElementById(id) as unknown as HTMLElement).hidden;
const html = (p: Page, name: string) => p.document.documentElement.getAttribute(`data-ms-${name}`);

describe('data-ms-show / data-ms-hide', () => {
  const cases: [rule: string, visible: boolean][] = [
    ['lifecycle=newbie', true],
    ['lifecycle=loyalist', false],
    ['category=cameras', true],
    ['category=lenses', false],
    ['engagement=hot', true],
    ['engagement=cold', false],
    ['intent=moderately_likely', true],
    ['intent=most_likely', false],
    ['segment=newbie:cameras:hot', true],
    ['segment=newbie:cameras:warm', false],
    ['segment=camera-intent', true], // a custom segment name, as DESIGN.md writes it
    ['camera-intent', true], // the bare custom segment name
    ['lens-intent', false],
    ['segment=lens-intent', false],
    ['known=false', true],
    ['known=true', false],
    ['cooldown=false', true],
    ['lifecycle=loyalist, category=cameras', true], // or
    ['lifecycle=loyalist,lifecycle=lapsed', false],
    ['category=cameras engagement=hot', true], // and
    ['category=cameras  engagement=cold', false],
    ['lifecycle=loyalist, category=cameras engagement=hot', true],
    ['', true], // no rule: untouched (shown)
    ['Lifecycle=newbie', false], // case matters
  ];

  it.each(cases)('data-ms-show="%s" → visible: %s', async (rule, visible) => {
    const body = `<p id="x" data-ms-show="${rule}">x</p><p id="y" data-ms-hide="${rule}">y</p>`;
    const p = await open({ storage: cached(base), body, respond: collector(null), wait: false });
    await sleep(30);
    expect(hidden(p, 'x')).toBe(!visible);
    // data-ms-hide is the reverse, except that an empty rule leaves the element alone too.
    expect(hidden(p, 'y')).toBe(rule === '' ? false : visible);
  });

  it('treats "category=none" as no categorized activity', async () => {
    const none = seg({
      category: null,
      segment: 'newbie:none:cold',
      engagement: 'cold',
      segments: [],
    });
    const p = await open({
      storage: cached(none),
      respond: collector(null),
      body: `<p id="a" data-ms-show="category=none">a</p><p id="b" data-ms-show="category=cameras">b</p>`,
    });
    expect([hidden(p, 'a'), hidden(p, 'b')]).toEqual([false, true]);
    expect(html(p, 'category')).toBe('none');
  });

  it('leaves elements alone while no segment is known', async () => {
    const p = await open({
      respond: collector(null),
      body: `<p id="a" data-ms-show="lifecycle=loyalist">a</p><p id="b" hidden data-ms-show="lifecycle=newbie">b</p>`,
    });
    expect([hidden(p, 'a'), hidden(p, 'b')]).toEqual([false, true]);
  });

  it('applies rules to elements added later (SPA routes, lazy content) before they paint', async () => {
    // The page has a rule from the start: ms.rules.js is loaded and watches the DOM.
    const p = await open({
      storage: cached(base),
      respond: collector(null),
      body: `<p id="first" data-ms-show="engagement=hot">f</p>`,
    });
    expect(p.scripts).toEqual([SCRIPT_SRC, RULES_SRC]);
    p.run(`
      const el = document.createElement('div');
      el.innerHTML = '<p id="late-yes" data-ms-show="engagement=hot">y</p><p id="late-no" data-ms-show="engagement=cold">n</p>';
      history.pushState({}, '', '/other');
      document.body.append(el);`);
    await Promise.resolve(); // a microtask: MutationObserver callbacks run before the next paint
    await sleep(0);
    expect([hidden(p, 'late-yes'), hidden(p, 'late-no')]).toEqual([false, true]);
  });
});

describe('ms.rules.js, loaded on demand', () => {
  const RULE = `<p id="x" data-ms-show="lifecycle=loyalist">x</p>`;
  const routeSettles = () => sleep(150);

  it('is not requested by a page without rule-carrying elements: not at start, nor after answers and routes', async () => {
    const p = await open({ storage: cached(base), respond: collector(base) });
    p.run(`history.pushState({}, '', '/a'); microseg.track('x')`);
    await routeSettles();
    await p.settle();
    p.run(`history.pushState({}, '', '/b')`);
    await routeSettles();
    await p.settle();
    expect(p.batches().length).toBeGreaterThanOrEqual(3);
    expect(p.scripts).toEqual([SCRIPT_SRC]);
  });

  it('is requested once, beside ms.js, however many answers and routes follow', async () => {
    const p = await open({ respond: collector(base), body: RULE });
    for (const path of ['/a', '/b']) {
      p.run(`history.pushState({}, '', '${path}'); microseg.track('x')`);
      await routeSettles();
      await p.settle();
    }
    expect(p.batches().length).toBeGreaterThanOrEqual(3);
    expect(p.scripts).toEqual([SCRIPT_SRC, RULES_SRC]);
    // Beside ms.js even when the collector is elsewhere (`data-api`: ms.js served from a CDN).
    const cdn = await open({
      attrs: `data-site="demo" data-api="https://api.shop.test/"`,
      respond: collector(base),
      body: RULE,
    });
    expect(cdn.sent[0]!.url).toBe('https://api.shop.test/v1/collect');
    expect(cdn.scripts).toEqual([SCRIPT_SRC, RULES_SRC]);
  });

  it('goes out with the first batch of a first visit; ms-pending stays until the answer brings the rules their facts', async () => {
    const h = held();
    const p = await open({
      respond: h.respond,
      head: `<script>document.documentElement.classList.add('ms-pending')</script>`,
      body: `<p id="loyal" hidden data-ms-show="lifecycle=loyalist">welcome back</p>`,
      wait: false,
    });
    for (let i = 0; i < 200 && (p.sent.length === 0 || p.scripts.length < 2); i++) await sleep(5);
    // Both requests are out while the collect answer is held, and the rules script has run.
    expect(p.sent).toHaveLength(1);
    expect(p.scripts).toEqual([SCRIPT_SRC, RULES_SRC]);
    await sleep(20);
    const root = p.document.documentElement;
    expect(root.classList.contains('ms-pending')).toBe(true);
    expect(hidden(p, 'loyal')).toBe(true); // as written
    h.release();
    await p.settle();
    expect(root.classList.contains('ms-pending')).toBe(false);
    expect(hidden(p, 'loyal')).toBe(false);
  });

  it('is loaded when a route brings the page its first rule-carrying elements, which then get their rules', async () => {
    // No answer carries a segment here: the counted route alone makes ms.js look again.
    const p = await open({ storage: cached(base), respond: collector(null) });
    expect(p.scripts).toEqual([SCRIPT_SRC]);
    p.run(`
      history.pushState({}, '', '/deals');
      const el = document.createElement('div');
      el.innerHTML = '<p id="hot" hidden data-ms-show="engagement=hot">y</p><p id="cold" data-ms-show="engagement=cold">n</p>';
      document.body.append(el);`);
    await routeSettles();
    await p.settle();
    expect(p.scripts).toEqual([SCRIPT_SRC, RULES_SRC]);
    expect([hidden(p, 'hot'), hidden(p, 'cold')]).toEqual([false, true]);
  });

  it('is loaded after an answer when elements came without a route (lazy content), which then get their rules', async () => {
    let answer: Segment = base;
    const p = await open({ respond: (url, init, real) => collector(answer)(url, init, real) });
    p.run(
      `document.body.insertAdjacentHTML('beforeend', '<p id="late" data-ms-show="lifecycle=loyalist">l</p>')`,
    );
    answer = seg({ lifecycle: 'loyalist', segment: 'loyalist:cameras:hot' });
    p.run(`microseg.track('x')`);
    await p.settle();
    expect(p.scripts).toEqual([SCRIPT_SRC, RULES_SRC]);
    expect(hidden(p, 'late')).toBe(false);
  });

  it("applies a changed segment's rules before the page's own microseg:segment listeners run", async () => {
    let answer: Segment = base;
    const p = await open({
      storage: cached(base),
      head: `<script>window.seen = []; document.addEventListener('microseg:segment', () => seen.push(document.getElementById('x').hidden))</script>`,
      body: RULE,
      respond: (url, init, real) => collector(answer)(url, init, real),
    });
    answer = seg({ lifecycle: 'loyalist', segment: 'loyalist:cameras:hot' });
    p.run(`microseg.track('x')`);
    await p.settle();
    // At start (the cache) the event fires before ms.rules.js has run: the element is as written.
    expect(p.run('seen')).toEqual([false, false]);
    expect(hidden(p, 'x')).toBe(false);
  });
});

describe('the segment on <html>', () => {
  it('sets data-ms-* attributes for CSS', async () => {
    const p = await open({ respond: collector(seg({ known: true })) });
    expect(html(p, 'lifecycle')).toBe('newbie');
    expect(html(p, 'category')).toBe('cameras');
    expect(html(p, 'engagement')).toBe('hot');
    expect(html(p, 'segment')).toBe('newbie:cameras:hot');
    expect(html(p, 'intent')).toBe('moderately_likely');
    expect(html(p, 'known')).toBe('true');
    expect(html(p, 'cooldown')).toBe('false');
  });

  it('applies the cached segment at script start, and its rules once ms.rules.js runs, before any network answer', async () => {
    const h = held();
    const p = await open({
      storage: cached(seg({ lifecycle: 'loyalist', segment: 'loyalist:cameras:hot' })),
      respond: h.respond,
      head: `<script>document.documentElement.classList.add('ms-pending')</script>`,
      body: `<p id="loyal" data-ms-show="lifecycle=loyalist">welcome back</p><p id="new" data-ms-show="lifecycle=newbie">hello</p>`,
      wait: false,
    });
    // The attributes are set in the task the script ran in: by the time the load batch is sent.
    for (let i = 0; i < 100 && p.sent.length === 0; i++) await sleep(5);
    expect(p.sent).toHaveLength(1); // the collect is out, its answer held
    expect(html(p, 'lifecycle')).toBe('loyalist');
    // The rules script (a cached asset on a returning visit) applies the rules and ends ms-pending.
    const root = p.document.documentElement;
    for (let i = 0; i < 100 && root.classList.contains('ms-pending'); i++) await sleep(5);
    expect(p.sent).toHaveLength(1);
    expect([hidden(p, 'loyal'), hidden(p, 'new')]).toEqual([false, true]);
    expect(root.classList.contains('ms-pending')).toBe(false);
    h.release();
  });

  it('keeps ms-pending until the first segment arrives for a first-time visitor', async () => {
    const h = held();
    const p = await open({
      respond: h.respond,
      head: `<script>document.documentElement.classList.add('ms-pending')</script>`,
      body: `<p id="loyal" data-ms-show="lifecycle=loyalist">welcome back</p>`,
      wait: false,
    });
    for (let i = 0; i < 100 && p.sent.length === 0; i++) await sleep(5);
    const root = p.document.documentElement;
    expect(root.classList.contains('ms-pending')).toBe(true);
    expect(root.hasAttribute('data-ms-lifecycle')).toBe(false);
    h.release();
    await sleep(20);
    expect(root.classList.contains('ms-pending')).toBe(false);
    expect(html(p, 'lifecycle')).toBe('loyalist');
    expect(hidden(p, 'loyal')).toBe(false);
  });

  it('replaces the cached segment with the fresh one from the collect answer, without a second request', async () => {
    const p = await open({
      storage: cached(base),
      respond: collector(seg({ engagement: 'active', segment: 'newbie:cameras:active' }), null),
      body: `<p id="hot" data-ms-show="engagement=hot">hot</p>`,
    });
    expect(html(p, 'engagement')).toBe('active');
    expect(hidden(p, 'hot')).toBe(true);
    expect(p.sent.map((s) => new URL(s.url).pathname)).toEqual(['/v1/collect']);
    // …and remembers it for the next page.
    const [stored, t] = record(p).g;
    expect(stored.engagement).toBe('active');
    expect(Math.abs(t - Date.now())).toBeLessThan(5000);
  });
});

describe('the microseg:segment event', () => {
  const listen = `<script>window.got = []; document.addEventListener('microseg:segment', (e) => got.push(e.detail.segment + '|' + e.detail.segments.join('+')))</script>`;

  it('fires once per change, not once per answer', async () => {
    let answer = base;
    const p = await open({
      head: listen,
      respond: (url, init, real) => collector(answer)(url, init, real),
    });
    expect(p.run('got')).toEqual(['newbie:cameras:hot|camera-intent']);
    // Same segment, other affinity and updated time: no event.
    answer = seg({ affinity: { cameras: 0.9, sports: 0.1 }, updated: base.updated + 5000 });
    p.run(`microseg.track('a')`);
    await p.settle();
    expect(p.run('got')).toHaveLength(1);
    // A custom segment joins: one event.
    answer = seg({ segments: ['camera-intent', 'big-spender'] });
    p.run(`microseg.track('b')`);
    await p.settle();
    p.run(`microseg.track('c')`);
    await p.settle();
    expect(p.run('got')).toEqual([
      'newbie:cameras:hot|camera-intent',
      'newbie:cameras:hot|camera-intent+big-spender',
    ]);
    expect(p.batches()).toHaveLength(4);
  });

  it('fires at start for a cached segment, and not again when the fresh one is the same', async () => {
    const p = await open({
      head: listen,
      storage: cached(base),
      respond: collector(seg({ updated: 2 })),
    });
    expect(p.run('got')).toEqual(['newbie:cameras:hot|camera-intent']);
  });

  it('has the segment as detail', async () => {
    const p = await open({
      head: `<script>document.addEventListener('microseg:segment', (e) => window.detail = e.detail)</script>`,
      respond: collector(base),
    });
    expect(p.run('detail')).toEqual(browserView(base));
  });
});

describe('microseg.segment() with a cache', () => {
  it('resolves a fresh cached segment at once, with no request', async () => {
    const h = held();
    const p = await open({ storage: cached(base, 60e3), respond: h.respond, wait: false });
    for (let i = 0; i < 100 && p.sent.length === 0; i++) await sleep(5);
    await expect(p.run<Promise<Segment>>('microseg.segment()')).resolves.toEqual(browserView(base));
    expect(p.sent.map((s) => new URL(s.url).pathname)).toEqual(['/v1/collect']);
    h.release();
  });

  it('asks again when the cache is old (over 5 minutes)', async () => {
    const fresh = seg({ lifecycle: 'prospect', segment: 'prospect:cameras:hot' });
    const p = await open({ storage: cached(base, 6 * 60e3), respond: collector(null, fresh) });
    await expect(p.run<Promise<Segment>>('microseg.segment()')).resolves.toEqual(
      browserView(fresh),
    );
    expect(p.sent.map((s) => new URL(s.url).pathname)).toEqual(['/v1/collect', '/v1/collect']);
    expect(p.batches().map((b) => b.events.length)).toEqual([1, 0]);
  });

  it('resolves the old cached segment when the collector is down (rejects or 500), never throwing', async () => {
    const down = await open({
      storage: cached(base, 24 * 3600e3),
      respond: () => Promise.reject(new TypeError('Failed to fetch')),
    });
    await expect(down.run<Promise<Segment>>('microseg.segment()')).resolves.toEqual(
      browserView(base),
    );
    expect(html(down, 'segment')).toBe('newbie:cameras:hot');
    const failing = await open({
      storage: cached(base, 24 * 3600e3),
      respond: () => new Response('{}', { status: 500 }),
    });
    await expect(failing.run<Promise<Segment>>('microseg.segment()')).resolves.toEqual(
      browserView(base),
    );
  });

  it('resolves null with the collector down and nothing cached', async () => {
    const p = await open({ respond: () => new Response('oops', { status: 503 }) });
    await expect(p.run<Promise<unknown>>('microseg.segment()')).resolves.toBeNull();
    expect(p.document.documentElement.hasAttribute('data-ms-segment')).toBe(false);
  });

  it('ignores a corrupt cache', async () => {
    const p = await open({ storage: { ms: '{not json' }, respond: collector(base) });
    expect(html(p, 'segment')).toBe('newbie:cameras:hot');
  });
});
