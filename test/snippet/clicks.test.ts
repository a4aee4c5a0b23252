import { afterEach, describe, expect, it } from 'vitest';
import type { Segment } from '../../shared/segment.ts';
import { segmentWith } from '../fixtures.ts';
import { closeAll, open, ID, stored } from './harness.ts';

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

const clicks = (p: Awaited<ReturnType<typeof open>>) => p.events().filter((e) => e.type === 'click');

const fire = (p: Awaited<ReturnType<typeof open>>, id: string, type = 'click', button = 0) =>
  p.run(`document.getElementById('${id}').dispatchEvent(new MouseEvent('${type}', { bubbles: true, cancelable: true, button: ${button} }))`);

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
    expect(c!.session).toBe(p.events()[0]!.session);
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
    expect(out).toMatchObject({ target: 'https://reviews.example/x100?ref=shop', outbound: true, category: 'cameras' });
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
    expect(clicks(p)).toMatchObject([{ target: 'https://shop.test/late', category: 'sale', outbound: false }]);
  });
});

describe('the category of a click is the page markup\'s, never the visitor\'s segment', () => {
  const SEG: Segment = segmentWith({ affinity: { cameras: 1 }, segments: [], updated: 1 });

  it('ignores data-ms-category on <html> (the segment, written by the snippet): an untagged link has no category', async () => {
    const p = await open({ storage: stored({ v: 'v1', g: [SEG, Date.now()] }), body: `<a id="a" href="/x">x</a>` });
    expect(p.document.documentElement.getAttribute('data-ms-category')).toBe('cameras');
    fire(p, 'a');
    await p.settle();
    const [c] = clicks(p);
    expect(c).toMatchObject({ type: 'click', target: 'https://shop.test/x' });
    expect('category' in c!).toBe(false);
  });

  it('still reads it from <body>', async () => {
    const p = await open({ storage: stored({ v: 'v1', g: [SEG, Date.now()] }), body: `<a id="a" href="/x">x</a>` });
    p.run(`document.body.setAttribute('data-ms-category', 'sale')`);
    fire(p, 'a');
    await p.settle();
    expect(clicks(p).map((c) => c.category)).toEqual(['sale']);
  });
});
