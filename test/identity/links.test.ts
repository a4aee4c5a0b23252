import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../collector/config/config.ts';
import { keyRing } from '../../collector/identity/keys.ts';
import {
  makeLink,
  readLinkQuery,
  signLink,
  verifyLinkSignature,
  type LinkFields,
} from '../../collector/identity/links.ts';
import { checkTarget } from '../../collector/identity/targets.ts';
import { verifyIdentityToken } from '../../collector/identity/token.ts';

const T0 = Date.UTC(2026, 10, 1, 12, 0, 0);
const SELF = 'https://collect.example';
const config = parseConfig({
  sites: {
    shop: { origins: ['https://site.example', 'http://shop.test:8080'] },
    dev: { allowLocalhost: true },
  },
});
const shop = config.sites.get('shop')!;
const ring = keyRing(['link-secret-link-secret-link-secret-01']);

describe('target allow-list', () => {
  it.each([
    'https://site.example/',
    'https://site.example/cameras?x=1#top',
    'https://SITE.example:443/a',
    'http://shop.test:8080/p',
    `${SELF}/demo/`,
  ])('allows %s', (to) => {
    expect(checkTarget(shop, to, new Set([SELF])).ok).toBe(true);
  });

  it.each([
    '//evil.example',
    '//site.example',
    '/cameras',
    'https://site.example.evil.example/',
    'https://site.example@evil.example/',
    'https://user:pw@site.example/',
    'https://evil.example/?https://site.example',
    'https://evil.example#https://site.example',
    'javascript:alert(1)',
    'JavaScript://site.example/%0aalert(1)',
    'java\tscript:alert(1)',
    'data:text/html,<script>alert(1)</script>',
    'https:\\\\evil.example',
    'https://site.example\\@evil.example',
    '/\\evil.example',
    'https:/\\evil.example',
    'https%3A%2F%2Fevil.example',
    '%2F%2Fevil.example',
    'https://site.example%2eevil.example/',
    'https://evil.example%2F@site.example/',
    'https://evil.example%40site.example/',
    'http://site.example/',
    'https://site.example:8443/',
    'ftp://site.example/',
    ' https://site.example/',
    'https://site.example/\n',
    'https://site.example./',
    'http://localhost:8787/',
    '',
    'x'.repeat(3000),
  ])('refuses %s', (to) => {
    expect(checkTarget(shop, to, new Set([SELF])).ok).toBe(false);
  });

  it('allows localhost only for a site that allows it', () => {
    expect(
      checkTarget(config.sites.get('dev')!, 'http://localhost:3000/x', new Set([SELF])).ok,
    ).toBe(true);
    expect(checkTarget(shop, 'http://localhost:3000/x', new Set([SELF])).ok).toBe(false);
  });
});

describe('link signatures', () => {
  const fields: LinkFields = {
    site: 'shop',
    to: 'https://site.example/cameras',
    token: 'tok',
    category: 'cameras',
    campaign: 'spring',
    medium: 'email',
    source: 'newsletter',
  };

  it('verify, and fail on any changed field (moving a value between fields included)', () => {
    const sig = signLink(ring, fields);
    expect(verifyLinkSignature(ring, fields, sig)).toBe(true);
    for (const k of Object.keys(fields) as (keyof LinkFields)[]) {
      expect(verifyLinkSignature(ring, { ...fields, [k]: `${fields[k]}x` }, sig), k).toBe(false);
    }
    expect(verifyLinkSignature(ring, { ...fields, category: undefined }, sig)).toBe(false);
    expect(verifyLinkSignature(ring, { ...fields, campaign: 'email', medium: 'spring' }, sig)).toBe(
      false,
    );
    expect(verifyLinkSignature(keyRing(['other-secret-other-secret-other-sec']), fields, sig)).toBe(
      false,
    );
    const raw = Buffer.from(sig, 'base64url');
    for (let i = 0; i < raw.length; i++) {
      const copy = Buffer.from(raw);
      copy[i]! ^= 1;
      expect(verifyLinkSignature(ring, fields, copy.toString('base64url')), `byte ${i}`).toBe(
        false,
      );
    }
    expect(verifyLinkSignature(ring, fields, `${sig}A`)).toBe(false);
    expect(verifyLinkSignature(ring, fields, '')).toBe(false);
  });

  it('keeps verifying after a key rotation', () => {
    const sig = signLink(ring, fields);
    const rotated = keyRing([
      'newer-secret-newer-secret-newer-sec',
      'link-secret-link-secret-link-secret-01',
    ]);
    expect(verifyLinkSignature(rotated, fields, sig)).toBe(true);
    expect(verifyLinkSignature(rotated, fields, signLink(rotated, fields))).toBe(true);
  });

  it('refuses a query with a repeated parameter', () => {
    const made = makeLink(ring, shop, SELF, { contact: 'c1', to: 'https://site.example/' }, T0);
    if (!made.ok) throw new Error(made.message);
    const q = new URL(made.url).searchParams;
    expect(readLinkQuery(q)).toBeDefined();
    q.append('to', 'https://evil.example/');
    expect(readLinkQuery(q)).toBeUndefined();
  });
});

describe('makeLink', () => {
  it('makes a /r link carrying a token for the contact, and a plain link with the parameters', () => {
    const input = {
      contact: 'c-42',
      to: 'https://site.example/cameras?ref=nl',
      campaign: 'spring',
      category: 'cameras',
      medium: 'email',
      ttlDays: 2,
    };
    const signed = makeLink(ring, shop, SELF, input, T0);
    if (!signed.ok) throw new Error(signed.message);
    const url = new URL(signed.url);
    expect(url.origin + url.pathname).toBe(`${SELF}/r`);
    expect(url.searchParams.get('to')).toBe('https://site.example/cameras?ref=nl');
    expect(signed.url).not.toContain('c-42');
    const id = verifyIdentityToken(ring, url.searchParams.get('t')!, 'shop', T0);
    expect(id).toMatchObject({
      ok: true,
      contact: 'c-42',
      exp: T0 + 2 * 86_400_000,
      purpose: 'link',
    });

    const plain = makeLink(ring, shop, SELF, input, T0, true);
    if (!plain.ok) throw new Error(plain.message);
    const p = new URL(plain.url);
    expect(p.origin + p.pathname).toBe('https://site.example/cameras');
    expect(Object.fromEntries(p.searchParams)).toMatchObject({
      ref: 'nl',
      utm_campaign: 'spring',
      utm_medium: 'email',
      ms_cat: 'cameras',
    });
    const msT = verifyIdentityToken(ring, p.searchParams.get('ms_t')!, 'shop', T0);
    expect(msT).toMatchObject({ ok: true, purpose: 'identify' });
  });

  it('refuses a target outside the site', () => {
    const made = makeLink(ring, shop, SELF, { contact: 'c', to: 'https://evil.example/' }, T0);
    expect(made).toMatchObject({ ok: false, error: 'target_not_allowed' });
  });
});
