// Cookie mode (`data-cookie`): the built ms.js loads the built ms.cookie.js (served by the real
// collector app), and every batch goes to the real collector, so the events are checked as stored.
import { afterEach, describe, expect, it } from 'vitest';
import { VISITOR_COOKIE } from '../../shared/visitor-cookie.ts';
import {
  COLLECTOR,
  closeAll,
  collector,
  ID,
  open,
  type OpenOptions,
  record,
  sleep,
  stored,
} from './harness.ts';

afterEach(closeAll);

const COOKIE_SRC = `${COLLECTOR}/ms.cookie.js`;

/**
 * Runs in the page before ms.js: records every string written to `document.cookie` (the attributes
 * are not readable back) and counts its reads, and sets `preset` first (with `Path=/`), as the
 * site's server would have with a `Set-Cookie` on the page's response.
 */
const spy = (preset?: string) => `<script>
  window.cookieWrites = []; window.cookieReads = 0;
  let o = document, d;
  while (!(d = Object.getOwnPropertyDescriptor(o, 'cookie'))) o = Object.getPrototypeOf(o);
  ${preset ? `d.set.call(document, ${JSON.stringify(`${preset}; Path=/`)});` : ''}
  Object.defineProperty(document, 'cookie', {
    configurable: true,
    get() { window.cookieReads++; return d.get.call(document); },
    set(v) { window.cookieWrites.push(v); d.set.call(document, v); },
  });
</script>`;

const openCookie = (o: OpenOptions & { preset?: string } = {}) =>
  open({ attrs: 'data-site="demo" data-cookie', head: spy(o.preset), ...o });

const writes = (p: { run: <T>(js: string) => T }) => p.run<string[]>('window.cookieWrites');
const jar = (p: { run: <T>(js: string) => T }) => p.run<string>('document.cookie');
const full = VISITOR_COOKIE.maxAgeSeconds;

describe('cookie mode (data-cookie)', () => {
  it('keeps the visitor id in ms_vid: Path=/, SameSite=Lax, Max-Age, Secure on https', async () => {
    const p = await openCookie();
    const v = record(p).v;
    expect(v).toMatch(ID);
    expect(writes(p)).toEqual([`ms_vid=${v};Path=/;SameSite=Lax;Max-Age=${full};Secure`]);
    expect(jar(p)).toBe(`ms_vid=${v}`);
    expect(p.scripts).toContain(COOKIE_SRC);
    expect(p.batches().map((b) => b.visitor)).toEqual([v]);
  });

  it('has no Secure on a plain http page', async () => {
    const p = await openCookie({ url: 'http://127.0.0.1:8080/products/cameras', refusals: true });
    expect(writes(p)).toEqual([`ms_vid=${record(p).v};Path=/;SameSite=Lax;Max-Age=${full}`]);
  });

  it("adopts an id the site's server set first: saved, and the visitor of every batch stored", async () => {
    const p = await openCookie({
      preset: 'ms_vid=srv-Id_0042',
      // The browser had another id before the site turned cookie mode on: the cookie wins.
      storage: stored({ v: 'old-local-id' }),
    });
    p.run(`microseg.track('a')`);
    await p.settle();
    expect(record(p).v).toBe('srv-Id_0042');
    expect(p.batches().map((b) => b.visitor)).toEqual(['srv-Id_0042', 'srv-Id_0042']);
    expect(
      new Set(
        collector()
          .events()
          .map((e) => e.visitor),
      ),
    ).toEqual(new Set(['srv-Id_0042']));
    expect(
      collector()
        .events()
        .map((e) => e.type),
    ).toEqual(['page_view', 'a']);
    // Written back with its lifetime renewed: an active visitor's cookie does not expire.
    expect(writes(p)).toEqual([`ms_vid=srv-Id_0042;Path=/;SameSite=Lax;Max-Age=${full};Secure`]);
  });

  it('renews the cookie on each page, with the same id', async () => {
    const a = await openCookie();
    const v = record(a).v;
    const b = await openCookie({ storage: { ms: a.window.localStorage.getItem('ms') ?? '' } });
    expect(writes(b)).toEqual([`ms_vid=${v};Path=/;SameSite=Lax;Max-Age=${full};Secure`]);
  });

  for (const [why, value] of [
    ['a character outside the id alphabet', 'bad.value'],
    ['an encoded value', 'a%20b'],
    ['longer than the id limit', 'x'.repeat(65)],
    ['empty', ''],
  ] as const)
    it(`ignores a cookie value ${why}: the stored id is kept and written over it`, async () => {
      const p = await openCookie({ preset: `ms_vid=${value}`, storage: stored({ v: 'local-1' }) });
      expect(record(p).v).toBe('local-1');
      expect(p.batches().map((b) => b.visitor)).toEqual(['local-1']);
      expect(jar(p)).toBe('ms_vid=local-1');
    });

  it('does not take another cookie whose name ends in ms_vid', async () => {
    const p = await openCookie({ preset: 'xms_vid=other', storage: stored({ v: 'local-1' }) });
    expect(record(p).v).toBe('local-1');
  });

  it('removes the cookie on opt-out, and on later loads a server-set one too', async () => {
    const p = await openCookie();
    p.run('microseg.optOut()');
    await p.settle();
    expect(writes(p).at(-1)).toMatch(/^ms_vid=[^;]*;Path=\/;SameSite=Lax;Max-Age=0;Secure$/);
    expect(jar(p)).toBe('');
    expect(record(p)).toEqual({ o: 1 });

    const later = await openCookie({ preset: 'ms_vid=srv-2', storage: stored({ o: 1 }) });
    expect(jar(later)).toBe('');
    expect(later.sent).toEqual([]);
    expect(record(later)).toEqual({ o: 1 });
  });

  for (const [name, nav] of [
    ['DNT', { doNotTrack: '1' }],
    ['GPC', { globalPrivacyControl: true }],
  ] as const)
    it(`${name} without consent: removes the cookie, stores and sends nothing`, async () => {
      const p = await openCookie({ preset: 'ms_vid=srv-3', navigator: nav });
      expect(jar(p)).toBe('');
      expect(p.sent).toEqual([]);
      expect(p.window.localStorage.getItem('ms')).toBeNull();
    });

  it('with data-consent under DNT keeps the cookie as usual', async () => {
    const p = await openCookie({
      attrs: 'data-site="demo" data-cookie data-consent',
      preset: 'ms_vid=srv-4',
      navigator: { doNotTrack: '1' },
    });
    expect(jar(p)).toBe('ms_vid=srv-4');
    expect(p.batches().map((b) => b.visitor)).toEqual(['srv-4']);
  });

  it('sends the page-load batch with the stored id where cookies throw (a sandboxed frame)', async () => {
    const p = await open({
      attrs: 'data-site="demo" data-cookie',
      storage: stored({ v: 'local-1' }),
      head: `<script>Object.defineProperty(document, 'cookie', {
        get() { throw new DOMException('sandboxed', 'SecurityError'); },
        set() { throw new DOMException('sandboxed', 'SecurityError'); },
      });</script>`,
      wait: false,
    });
    // At once, not with the batch timer a second later (nor an unhandled rejection).
    await sleep(500);
    expect(p.scripts).toContain(COOKIE_SRC);
    expect(p.batches().map((b) => b.visitor)).toEqual(['local-1']);
  });

  it('without data-cookie reads and writes no cookie, loads no cookie script', async () => {
    const p = await open({ head: spy('ms_vid=srv-5'), storage: stored({ v: 'local-1' }) });
    p.run(`microseg.track('a'); microseg.optOut()`);
    await p.settle();
    expect(writes(p)).toEqual([]);
    expect(p.run('window.cookieReads')).toBe(0);
    expect(p.scripts).not.toContain(COOKIE_SRC);
    expect(p.batches()[0]!.visitor).toBe('local-1');
  });
});
