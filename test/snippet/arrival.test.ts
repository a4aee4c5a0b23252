import { afterEach, describe, expect, it } from 'vitest';
import { closeAll, open, sleep } from './harness.ts';

afterEach(closeAll);

const META = '<meta name="microseg:category" content="cameras">';
const LINK =
  'https://shop.test/products/cameras?utm_source=news&utm_medium=email&utm_campaign=spring&utm_term=lens&utm_content=hero' +
  '&ms_cat=lenses&ms_t=TOKEN-abc_123&x=1#top';

describe('an email-link arrival (plain link)', () => {
  it('sends utm, ms_cat and the token with the first page view, and removes only ms_t from the address bar', async () => {
    const p = await open({ url: LINK, head: META });
    const clean = 'https://shop.test/products/cameras?utm_source=news&utm_medium=email&utm_campaign=spring&utm_term=lens&utm_content=hero&ms_cat=lenses&x=1#top';
    expect(p.window.location.href).toBe(clean);
    const [b] = p.batches();
    expect(b!.token).toBe('TOKEN-abc_123');
    expect(b!.events[0]).toMatchObject({
      type: 'page_view',
      nav: 'load',
      url: clean,
      category: 'lenses',
      utm: { source: 'news', medium: 'email', campaign: 'spring', term: 'lens', content: 'hero' },
    });
    expect(p.sent[0]!.body).not.toContain('ms_t');
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
    expect('utm' in events[2]!).toBe(false);
    expect(p.batches().map((b) => b.token)).toEqual(['TOKEN-abc_123', undefined]);
  });

  it('leaves no "?" behind when ms_t was the only parameter, and keeps the history state', async () => {
    const p = await open({ url: 'https://shop.test/a?ms_t=T1#h', head: `<script>history.replaceState({ k: 1 }, '')</script>` });
    expect(p.window.location.href).toBe('https://shop.test/a#h');
    expect(p.run('history.state')).toEqual({ k: 1 });
    expect(p.batches()[0]!.token).toBe('T1');
  });

  it('leaves the URL alone and sends no token or utm without them', async () => {
    const url = 'https://shop.test/s?q=a%20b&flag';
    const p = await open({ url });
    expect(p.window.location.href).toBe(url);
    const [b] = p.batches();
    expect('token' in b!).toBe(false);
    expect('utm' in b!.events[0]!).toBe(false);
  });

  it('takes only the five utm names the collector knows, and no empty values', async () => {
    const p = await open({ url: 'https://shop.test/?utm_source=&utm_id=42&utm_medium=cpc&utm_source_platform=x&ms_t=' });
    expect(p.events()[0]!.utm).toEqual({ medium: 'cpc' });
    expect('token' in p.batches()[0]!).toBe(false);
  });

  it('removes the token from the address bar even when nothing may be sent (DNT)', async () => {
    const p = await open({ url: 'https://shop.test/a?x=1&ms_t=T1', navigator: { doNotTrack: '1' } });
    expect(p.window.location.href).toBe('https://shop.test/a?x=1');
    expect(p.sent).toEqual([]);
  });
});

describe('microseg.identify(token)', () => {
  it('sends the token with the next batch (within a second), on an identify event, and only once', async () => {
    const p = await open();
    p.run(`microseg.identify('SIGNED')`);
    await sleep(1100);
    await p.settle();
    p.run(`microseg.track('after')`);
    await sleep(1100);
    await p.settle();
    const [, withToken, after] = p.batches();
    expect(withToken!.token).toBe('SIGNED');
    expect(withToken!.events.map((e) => e.type)).toEqual(['identify']);
    expect('token' in after!).toBe(false);
  });

  it('goes by beacon when the page is left first', async () => {
    const p = await open();
    p.run(`microseg.identify('SIGNED'); dispatchEvent(new Event('pagehide'))`);
    const beacon = p.batches().at(-1)!;
    expect(beacon.via).toBe('beacon');
    expect(beacon.token).toBe('SIGNED');
  });
});
