import { statSync, readFileSync, chmodSync } from 'node:fs';
import { join } from 'node:path';
import { createCipheriv, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  keyRing,
  keysForDatabase,
  loadKeyRing,
  parseSecrets,
  SecretError,
  SECRET_FILE,
} from '../../collector/identity/keys.ts';
import { issueIdentityToken, verifyIdentityToken } from '../../collector/identity/token.ts';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';

// Pure modules: no app, so the fixed times and temp folder are local.
const T0 = Date.UTC(2026, 10, 1, 12, 0, 0);
const DAY = 86_400_000;
function tempDir() {
  const dir = mkdtempSync(join(tmpdir(), 'microseg-keys-'));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

const OLD = 'old-secret-old-secret-old-secret-0001';
const NEW = 'new-secret-new-secret-new-secret-0002';
const ring = keyRing([OLD]);
const claims = { site: 'shop', contact: 'crm-12345@example.com', exp: T0 + DAY };

describe('identity tokens', () => {
  it('round-trips site, contact and expiry', () => {
    const token = issueIdentityToken(ring, claims);
    expect(token).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(token.length).toBeLessThan(120);
    expect(verifyIdentityToken(ring, token, 'shop', T0)).toEqual({
      ok: true,
      contact: claims.contact,
      exp: T0 + DAY,
      purpose: 'identify',
      grant: expect.stringMatching(/^[A-Za-z0-9_-]{11}$/),
    });
  });

  it('does not show the contact id, and two tokens for the same claims differ', () => {
    const a = issueIdentityToken(ring, claims);
    const b = issueIdentityToken(ring, claims);
    expect(a).not.toBe(b);
    for (const t of [a, b]) {
      const raw = Buffer.from(t, 'base64url');
      expect(raw.includes(Buffer.from('crm-12345'))).toBe(false);
    }
  });

  it('fails when any byte is changed', () => {
    const token = issueIdentityToken(ring, claims);
    const raw = Buffer.from(token, 'base64url');
    for (let i = 0; i < raw.length; i++) {
      for (const mask of [0x01, 0x80]) {
        const copy = Buffer.from(raw);
        copy[i]! ^= mask;
        const res = verifyIdentityToken(ring, copy.toString('base64url'), 'shop', T0);
        expect(res.ok, `byte ${i} ^ ${mask}`).toBe(false);
      }
    }
  });

  it('fails when any character is changed, dropped or added', () => {
    const token = issueIdentityToken(ring, claims);
    for (let i = 0; i < token.length; i++) {
      const other = token[i] === 'A' ? 'B' : 'A';
      expect(
        verifyIdentityToken(ring, token.slice(0, i) + other + token.slice(i + 1), 'shop', T0).ok,
        `char ${i}`,
      ).toBe(false);
    }
    expect(verifyIdentityToken(ring, token.slice(0, -1), 'shop', T0).ok).toBe(false);
    expect(verifyIdentityToken(ring, `${token}A`, 'shop', T0).ok).toBe(false);
    expect(verifyIdentityToken(ring, `${token}=`, 'shop', T0)).toEqual({
      ok: false,
      reason: 'malformed',
    });
    expect(verifyIdentityToken(ring, '', 'shop', T0)).toEqual({ ok: false, reason: 'malformed' });
    expect(verifyIdentityToken(ring, 'x'.repeat(5000), 'shop', T0)).toEqual({
      ok: false,
      reason: 'malformed',
    });
  });

  it('expires', () => {
    const token = issueIdentityToken(ring, claims);
    expect(verifyIdentityToken(ring, token, 'shop', T0 + DAY - 1000).ok).toBe(true);
    expect(verifyIdentityToken(ring, token, 'shop', T0 + DAY)).toEqual({
      ok: false,
      reason: 'expired',
    });
  });

  it('is bound to its site', () => {
    const token = issueIdentityToken(ring, claims);
    expect(verifyIdentityToken(ring, token, 'other', T0)).toEqual({
      ok: false,
      reason: 'wrong_site',
    });
  });

  it('rotates keys: the new key signs, the old one still verifies, an unknown key does not', () => {
    const old = issueIdentityToken(ring, claims);
    const rotated = keyRing([NEW, OLD]);
    const fresh = issueIdentityToken(rotated, claims);
    expect(verifyIdentityToken(rotated, old, 'shop', T0).ok).toBe(true);
    expect(verifyIdentityToken(rotated, fresh, 'shop', T0).ok).toBe(true);
    // Signed with the new key: the old-only ring cannot open it.
    expect(verifyIdentityToken(ring, fresh, 'shop', T0)).toEqual({ ok: false, reason: 'invalid' });
    // Old key retired.
    expect(verifyIdentityToken(keyRing([NEW]), old, 'shop', T0)).toEqual({
      ok: false,
      reason: 'invalid',
    });
  });

  it('refuses short secrets without echoing them', () => {
    expect(() => parseSecrets('short-secret', 'MICROSEG_SECRET')).toThrow(SecretError);
    try {
      parseSecrets(`${NEW}, short-secret`, 'MICROSEG_SECRET');
    } catch (err) {
      expect((err as Error).message).toContain('#2');
      expect((err as Error).message).not.toContain('short-secret');
    }
    expect(parseSecrets(` ${NEW} , ${OLD} `, 'x')).toEqual([NEW, OLD]);
  });
});

describe('key file', () => {
  it('is generated once with mode 0600 and read back; MICROSEG_SECRET wins', () => {
    const tmp = tempDir();
    try {
      const first = loadKeyRing({ dataDir: tmp.dir });
      expect(first.source).toBe('generated');
      const file = join(tmp.dir, SECRET_FILE);
      expect(statSync(file).mode & 0o777).toBe(0o600);
      const second = loadKeyRing({ dataDir: tmp.dir });
      expect(second.source).toBe('file');
      const token = issueIdentityToken(first.ring, claims);
      expect(verifyIdentityToken(second.ring, token, 'shop', T0).ok).toBe(true);
      const env = loadKeyRing({ secret: NEW, dataDir: tmp.dir });
      expect(env.source).toBe('env');
      expect(verifyIdentityToken(env.ring, token, 'shop', T0).ok).toBe(false);
      expect(readFileSync(file, 'utf8').trim().length).toBeGreaterThanOrEqual(32);
      chmodSync(file, 0o644);
      expect(() => loadKeyRing({ dataDir: tmp.dir })).toThrow(/chmod 600/);
    } finally {
      tmp.cleanup();
    }
  });
});

describe('keys of a PostgreSQL database', () => {
  it('require MICROSEG_SECRET: no key file made of the URL, no password in the message', () => {
    const url = 'postgres://u:secret-pw@db.example:5432/m';
    expect(() => keysForDatabase(url, undefined)).toThrow(SecretError);
    expect(() => keysForDatabase(url, undefined)).toThrow(/MICROSEG_SECRET is required/);
    const err = (() => {
      try {
        keysForDatabase(url, undefined);
      } catch (e) {
        return e as Error;
      }
    })();
    expect(err?.message).not.toContain('secret-pw');
    expect(keysForDatabase(url, NEW).source).toBe('env');
  });
});

/** A version-1 token, laid out as before purposes: what links sent before the upgrade carry. */
function legacyToken(contact: string, exp: number): string {
  const site = Buffer.from('shop');
  const head = Buffer.alloc(5);
  head.writeUInt32BE(Math.floor(exp / 1000), 0);
  head.writeUInt8(site.length, 4);
  const header = Buffer.concat([Buffer.from([1]), ring.current.id]);
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', ring.current.token, iv, { authTagLength: 16 });
  cipher.setAAD(header);
  const body = Buffer.concat([
    cipher.update(Buffer.concat([head, site, Buffer.from(contact)])),
    cipher.final(),
  ]);
  return Buffer.concat([header, iv, body, cipher.getAuthTag()]).toString('base64url');
}

describe('token purposes', () => {
  it('a token says what it is for and which link (grant) it comes from', () => {
    const link = issueIdentityToken(ring, { ...claims, purpose: 'link' });
    const v = verifyIdentityToken(ring, link, 'shop', T0);
    if (!v.ok) throw new Error(v.reason);
    expect(v.purpose).toBe('link');
    const arrival = issueIdentityToken(ring, { ...claims, grant: v.grant });
    const opened = verifyIdentityToken(ring, arrival, 'shop', T0);
    expect(opened).toMatchObject({ ok: true, purpose: 'identify', grant: v.grant });
    expect(() => issueIdentityToken(ring, { ...claims, grant: 'short' })).toThrow(RangeError);
  });

  it('a version-1 token still verifies, as legacy, with its IV as grant', () => {
    const old = legacyToken('c-1', T0 + DAY);
    expect(verifyIdentityToken(ring, old, 'shop', T0)).toMatchObject({
      ok: true,
      contact: 'c-1',
      purpose: 'legacy',
    });
    expect(verifyIdentityToken(ring, old, 'shop', T0 + DAY)).toEqual({
      ok: false,
      reason: 'expired',
    });
    expect(verifyIdentityToken(ring, old, 'other', T0)).toEqual({
      ok: false,
      reason: 'wrong_site',
    });
  });
});
