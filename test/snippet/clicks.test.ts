import { afterEach, describe, expect, it } from 'vitest';
import type { Segment } from '../../shared/segment.ts';
import { segmentWith } from '../fixtures.ts';
import { answering, closeAll, collector, open, ID, stored } from './harness.ts';

afterEach(closeAll);

const BODY = `
  <main data-ms-category="cameras">
    <a id="rel" href="/products/x100"><span><b id="inner">X100</b></span></a>
    <section data-ms-category="lenses">
      <a id="lens" href="https://shop.test/lenses/35mm">35 mm</a>
      <a id="own" data-ms-category="bags" href="/bags">bag</a>
    </section>
    <a id="out" href="https://reviews.example/x100?ref=shop">review</a>
    <button id="btn">not a link</button>
    <a id="nohref">no href</a>
  </main>
  <a id="plain" href="mailto:hi@shop.test">mail</a>`;

const clicks = (p: Awaited<ReturnType<typeof open>>) =>
  p.events().filter((e) => e.type === 'click');

const fire = (p: Awaited<ReturnType<typeof open>>, id: string, type = 'click', button = 0) =>
  p.run(
    `document.getElementById('${id}').dispatchEvent(new MouseEvent('${type}', { bubbles: true, cancelable: true, button: ${button} }))`,
  );

describe('link clicks', () => {
  it('records a click on an element nested in a link: resolved href, same origin, nearest ancestor category', async () => {
    const p = await open({ body: BODY });
    fire(p, 'inner');
    await p.settle();
    const [c] = clicks(p);
    expect(c).toMatchObject({
      type: 'click',
      target: 'https://shop.test/products/x100',
      outbound: false,
      category: 'cameras',
      url: 'https://shop.test/products/cameras',
    });
    expect(c!.id).toMatch(ID);
  });

  it('takes the nearest category: the link own attribute, else the closest section', async () => {
    const p = await open({ body: BODY });
    fire(p, 'lens');
    fire(p, 'own');
    await p.settle();
    expect(clicks(p).map((c) => [c.target, c.category])).toEqual([
      ['https://shop.test/lenses/35mm', 'lenses'],
      ['https://shop.test/bags', 'bags'],
    ]);
  });

  it('flags outbound links and leaves category out when no ancestor has one', async () => {
    const p = await open({ body: BODY });
    fire(p, 'out');
    fire(p, 'plain');
    await p.settle();
    const [out, mail] = clicks(p);
    expect(out).toMatchObject({
      target: 'https://reviews.example/x100?ref=shop',
      outbound: true,
      category: 'cameras',
    });
    expect(mail).toMatchObject({ target: 'mailto:hi@shop.test', outbound: true });
    expect('category' in mail!).toBe(false);
  });

  it('counts middle clicks (auxclick, button 1) but not right clicks, buttons or links without href', async () => {
    const p = await open({ body: BODY });
    fire(p, 'lens', 'auxclick', 1);
    fire(p, 'lens', 'auxclick', 2);
    fire(p, 'btn');
    fire(p, 'nohref');
    p.run(`document.dispatchEvent(new MouseEvent('click', { bubbles: true }))`);
    await p.settle();
    expect(clicks(p).map((c) => c.target)).toEqual(['https://shop.test/lenses/35mm']);
  });

  it('sees clicks whose handlers stop propagation, and links added after load', async () => {
    const p = await open({ body: BODY });
    p.run(`
      const a = document.createElement('a');
      a.id = 'late'; a.href = '/late'; a.setAttribute('data-ms-category', 'sale');
      a.addEventListener('click', (e) => e.stopPropagation());
      document.body.append(a);`);
    fire(p, 'late');
    await p.settle();
    expect(clicks(p)).toMatchObject([
      { target: 'https://shop.test/late', category: 'sale', outbound: false },
    ]);
  });
});

describe("the category of a click is the page markup's, never the visitor's segment", () => {
  const SEG: Segment = segmentWith({ affinity: { cameras: 1 }, segments: [], updated: 1 });
  const LINK = `<a id="a" href="/x">x</a>`;

  it('ignores data-ms-category on <html> (the segment, written by the snippet): an untagged link has no category', async () => {
    const p = await open({
      storage: stored({ v: 'v1', g: [SEG, Date.now()] }),
      body: LINK,
      respond: answering(null),
    });
    expect(p.document.documentElement.getAttribute('data-ms-category')).toBe('cameras');
    fire(p, 'a');
    await p.settle();
    const [c] = clicks(p);
    expect(c).toMatchObject({ type: 'click', target: 'https://shop.test/x' });
    expect('category' in c!).toBe(false);
  });

  it('still reads it from <body>', async () => {
    const p = await open({
      storage: stored({ v: 'v1', g: [SEG, Date.now()] }),
      body: LINK,
      respond: answering(null),
    });
    p.run(`document.body.setAttribute('data-ms-category', 'sale')`);
    fire(p, 'a');
    await p.settle();
    expect(clicks(p).map((c) => c.category)).toEqual(['sale']);
  });
});

describe('issue 11: links in SVG', () => {
  // An SVG 2 link (`href`), an SVG 1.1 link (`xlink:href`), and an SVG <a> that links nowhere.
  const SVG = `<svg data-ms-category="maps">
      <a id="svg2" href="/stores/berlin"><text id="in2">Berlin</text></a>
      <a id="svg1" xlink:href="https://maps.example/x"><rect id="in1" width="9" height="9"/></a>
      <a id="svg0"><text id="in0">no link</text></a>
    </svg>`;

  /**
   * happy-dom makes SVG <a> plain elements; a browser's has `href` as an SVGAnimatedString (the
   * attribute, `href` or `xlink:href`, as `baseVal`) and no `origin`: give them that, as a browser does.
   */
  const asInBrowsers = (p: Awaited<ReturnType<typeof open>>) =>
    p.run(`for (const a of document.querySelectorAll('svg a')) {
      const v = a.getAttribute('href') ?? a.getAttribute('xlink:href') ?? '';
      Object.defineProperty(a, 'href', { value: { baseVal: v, animVal: v } });
    }`);

  it('records clicks on SVG links (href, xlink:href): resolved, outbound, category, and throws nothing', async () => {
    const p = await open({ body: SVG });
    asInBrowsers(p);
    const errors: string[] = [];
    p.window.addEventListener('error', (e: any) => errors.push(String(e.error ?? e.message)));
    fire(p, 'in2');
    fire(p, 'in1');
    fire(p, 'in0');
    await p.settle();
    expect(errors).toEqual([]);
    expect(clicks(p).map((c) => [c.target, c.outbound, c.category])).toEqual([
      ['https://shop.test/stores/berlin', false, 'maps'],
      ['https://maps.example/x', true, 'maps'],
    ]);
    const stored = collector()
      .events()
      .filter((e) => e.type === 'click');
    expect(stored.map((e) => [e.target, e.outbound])).toEqual([
      ['https://shop.test/stores/berlin', 0],
      ['https://maps.example/x', 1],
    ]);
  });
});
