import { afterEach, describe, expect, it } from 'vitest';
import { arrivalOf } from '../../collector/ingest/arrival.ts';
import { closeAll, open, sleep, token } from './harness.ts';

afterEach(closeAll);

const META = '<meta name="microseg:category" content="cameras">';
/** A signed token, as a plain email link carries it. */
const TOKEN = token();
const LINK =
  'https://shop.test/products/cameras?utm_source=news&utm_medium=email&utm_campaign=spring&utm_term=lens&utm_content=hero' +
  `&ms_cat=lenses&ms_t=${TOKEN}&x=1#top`;

describe('an email-link arrival (plain link)', () => {
  it('sends the token with the first page view, removes only ms_t, and leaves utm_* and ms_cat to the collector in the url', async () => {
    const p = await open({ url: LINK, head: META });
    const clean =
      'https://shop.test/products/cameras?utm_source=news&utm_medium=email&utm_campaign=spring&utm_term=lens&utm_content=hero&ms_cat=lenses&x=1#top';
    expect(p.window.location.href).toBe(clean);
    const [b] = p.batches();
    expect(b!.token).toBe(TOKEN);
    // The collector reads the campaign and ms_cat from this url (collector/ingest/arrival.ts): the snippet
    // parses neither, and the view carries the page's own category.
    expect(b!.events[0]).toEqual({
      id: expect.any(String),
      type: 'page_view',
      ts: expect.any(Number),
      nav: 'load',
      url: clean,
      category: 'cameras',
    });
    expect(p.sent[0]!.body).not.toContain('ms_t');
    expect(arrivalOf(b!.events[0]!.url)).toEqual({
      utm: { source: 'news', medium: 'email', campaign: 'spring', term: 'lens', content: 'hero' },
      category: 'lenses',
    });
  });

  it('does not count the clean-up as a navigation, and sends the token and campaign once', async () => {
    const p = await open({ url: LINK, head: META });
    await sleep(150); // past the SPA settle time
    p.run(`microseg.track('later'); history.pushState({}, '', '/next')`);
    await sleep(1100);
    await p.settle();
    const events = p.events();
    expect(events.map((e) => [e.type, e.nav])).toEqual([
      ['page_view', 'load'],
      ['later', undefined],
      ['page_view', 'spa'],
    ]);
    expect(events[2]).toMatchObject({ url: 'https://shop.test/next', category: 'cameras' });
    expect(p.batches().map((b) => b.token)).toEqual([TOKEN, undefined]);
  });

  it('leaves no "?" behind when ms_t was the only parameter, and keeps the history state', async () => {
    const p = await open({
      url: `https://shop.test/a?ms_t=${TOKEN}#h`,
      head: `<script>history.replaceState({ k: 1 }, '')</script>`,
    });
    expect(p.window.location.href).toBe('https://shop.test/a#h');
    expect(p.run('history.state')).toEqual({ k: 1 });
    expect(p.batches()[0]!.token).toBe(TOKEN);
  });

  it('leaves the URL alone and sends no token without one', async () => {
    const url = 'https://shop.test/s?q=a%20b&flag';
    const p = await open({ url });
    expect(p.window.location.href).toBe(url);
    const [b] = p.batches();
    expect('token' in b!).toBe(false);
    expect(b!.events[0]!.url).toBe(url);
  });

  it('takes an empty ms_t as no token, and then leaves the URL as it is', async () => {
    const url = 'https://shop.test/?utm_source=&utm_medium=cpc&ms_t=';
    const p = await open({ url });
    expect(p.window.location.href).toBe(url);
    expect('token' in p.batches()[0]!).toBe(false);
    expect(p.events()[0]!.url).toBe(url);
  });

  it('removes the token from the address bar even when nothing may be sent (DNT)', async () => {
    const p = await open({
      url: 'https://shop.test/a?x=1&ms_t=T1',
      navigator: { doNotTrack: '1' },
    });
    expect(p.window.location.href).toBe('https://shop.test/a?x=1');
    expect(p.sent).toEqual([]);
  });
});

describe('microseg.identify(token)', () => {
  it('sends the token with the next batch (within a second), on an identify event, and only once', async () => {
    const p = await open();
    p.run(`microseg.identify('${TOKEN}')`);
    await sleep(1100);
    await p.settle();
    p.run(`microseg.track('after')`);
    await sleep(1100);
    await p.settle();
    const [, withToken, after] = p.batches();
    expect(withToken!.token).toBe(TOKEN);
    expect(withToken!.events.map((e) => e.type)).toEqual(['identify']);
    expect('token' in after!).toBe(false);
  });

  it('goes with the leaving batch when the page is left first', async () => {
    const p = await open();
    p.run(`microseg.identify('${TOKEN}'); dispatchEvent(new Event('pagehide'))`);
    const leaving = p.batches().at(-1)!;
    expect(leaving.events.map((e) => e.type)).toEqual(['identify']);
    expect(leaving.token).toBe(TOKEN);
  });
});
