/** The server's visitor cookie (sdk/cookie.ts): read, minted, kept as the snippet keeps it. */
import { describe, expect, it } from 'vitest';
import { newVisitorId, visitorCookie, visitorOf, visitorOfCookies } from '../../sdk/cookie.ts';
import { VISITOR_COOKIE } from '../../shared/visitor-cookie.ts';

const req = (url: string, headers: Record<string, string> = {}) => new Request(url, { headers });

describe('visitorOfCookies', () => {
  it('finds ms_vid among other cookies', () => {
    expect(visitorOfCookies('a=1; ms_vid=123_456_789_0; b=2')).toBe('123_456_789_0');
    expect(visitorOfCookies('ms_vid=abc-DEF_9')).toBe('abc-DEF_9');
  });

  it('takes only a value of the id alphabet and length; else none (or a later valid one)', () => {
    expect(visitorOfCookies(undefined)).toBeNull();
    expect(visitorOfCookies('')).toBeNull();
    expect(visitorOfCookies('ms_vid=')).toBeNull();
    expect(visitorOfCookies('ms_vid=a%20b')).toBeNull();
    expect(visitorOfCookies('ms_vid=<script>')).toBeNull();
    expect(visitorOfCookies(`ms_vid=${'a'.repeat(65)}`)).toBeNull();
    expect(visitorOfCookies(`ms_vid=${'a'.repeat(64)}`)).toBe('a'.repeat(64));
    expect(visitorOfCookies('xms_vid=abc; ms_vidx=def')).toBeNull();
    expect(visitorOfCookies('ms_vid=bad value; ms_vid=good')).toBe('good');
  });
});

describe('newVisitorId', () => {
  it("has the snippet's format: four 32-bit numbers joined by _", () => {
    const id = newVisitorId();
    expect(id).toMatch(/^\d{1,10}(_\d{1,10}){3}$/);
    expect(newVisitorId()).not.toBe(id);
  });
});

describe('visitorCookie', () => {
  it('is first-party for the whole site, Lax, with the shared lifetime; Secure on https', () => {
    expect(visitorCookie('v1', false)).toBe(
      `ms_vid=v1; Path=/; Max-Age=${VISITOR_COOKIE.maxAgeSeconds}; SameSite=Lax`,
    );
    expect(visitorCookie('v1', true)).toMatch(/; Secure$/);
    expect(() => visitorCookie('a;b', false)).toThrow(TypeError);
  });
});

describe('visitorOf', () => {
  it('keeps a returning visitor (and renews the cookie)', () => {
    const r = visitorOf(req('http://shop.test/', { cookie: 'ms_vid=v_back' }));
    expect(r).toEqual({
      visitor: 'v_back',
      minted: false,
      setCookie: visitorCookie('v_back', false),
    });
  });

  it('mints an id for a first visit or an invalid cookie', () => {
    const r = visitorOf(req('https://shop.test/', { cookie: 'ms_vid=not valid' }));
    expect(r.minted).toBe(true);
    expect(r.visitor).toMatch(/^\d+(_\d+){3}$/);
    expect(r.setCookie).toBe(visitorCookie(r.visitor ?? '', true));
  });

  it('marks the cookie Secure behind a TLS proxy, or as told', () => {
    const proxied = req('http://shop.test/', { 'x-forwarded-proto': 'https' });
    expect(visitorOf(proxied).setCookie).toMatch(/; Secure$/);
    expect(visitorOf(proxied, { secure: false }).setCookie).not.toMatch(/Secure/);
  });

  it('under DNT or GPC: no id and no cookie, as the snippet does; unless told the site has consent', () => {
    for (const h of [{ 'sec-gpc': '1' }, { dnt: '1' }] as Record<string, string>[]) {
      const r = visitorOf(req('http://shop.test/', { ...h, cookie: 'ms_vid=v1' }));
      expect(r).toEqual({ visitor: null, minted: false, setCookie: null });
      expect(
        visitorOf(req('http://shop.test/', h), { privacySignals: false }).visitor,
      ).toBeTruthy();
    }
  });

  it('with setCookie: false reads an existing cookie only', () => {
    expect(visitorOf(req('http://shop.test/'), { setCookie: false })).toEqual({
      visitor: null,
      minted: false,
      setCookie: null,
    });
    expect(
      visitorOf(req('http://shop.test/', { cookie: 'ms_vid=v2' }), { setCookie: false }).visitor,
    ).toBe('v2');
  });
});
