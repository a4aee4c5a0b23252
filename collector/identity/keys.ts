/**
 * The collector's secret keys: identity tokens and email-link signatures are made with them.
 *
 * A secret is a string of at least 32 characters. Several secrets, comma-separated and newest
 * first, allow rotation: the first one seals and signs, every one verifies. From each secret
 * HKDF-SHA256 derives separate subkeys per purpose (one key never serves two algorithms) and a
 * short public key id that tokens and signatures carry, so a verifier picks the key directly.
 */
import { hkdfSync, randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { must } from '../../shared/must.ts';
import { isPostgresUrl } from '../config/db-url.ts';

export const MIN_SECRET_LENGTH = 32;
/** Bytes of the public key id carried by tokens and link signatures. */
export const KEY_ID_BYTES = 3;
/** The key file created in the data directory when MICROSEG_SECRET is not set. */
export const SECRET_FILE = 'microseg.secret';

export interface SigningKey {
  /** Public, derived from the secret: names the key in tokens and signatures. */
  id: Buffer;
  /** AES-256-GCM key of identity tokens. */
  token: Buffer;
  /** HMAC-SHA256 key of link signatures. */
  link: Buffer;
}

export interface KeyRing {
  /** Seals and signs. */
  current: SigningKey;
  /** Verifies: the current key and the older ones still accepted. */
  all: SigningKey[];
}

export class SecretError extends Error {
  override name = 'SecretError';
}

const derive = (secret: string, info: string, bytes: number) =>
  Buffer.from(hkdfSync('sha256', Buffer.from(secret, 'utf8'), 'microseg', info, bytes));

function signingKey(secret: string): SigningKey {
  return {
    id: derive(secret, 'microseg key id v1', KEY_ID_BYTES),
    token: derive(secret, 'microseg identity token v1', 32),
    link: derive(secret, 'microseg link signature v1', 32),
  };
}

/** Splits a comma-separated list of secrets (newest first); throws a SecretError on a short one. */
export function parseSecrets(text: string, source: string): string[] {
  const secrets = text
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
  if (secrets.length === 0) throw new SecretError(`${source} holds no secret`);
  secrets.forEach((s, i) => {
    // The position only: a secret is never echoed, not even in an error.
    if (s.length < MIN_SECRET_LENGTH) {
      throw new SecretError(
        `${source}: secret #${i + 1} is shorter than ${MIN_SECRET_LENGTH} characters`,
      );
    }
  });
  return secrets;
}

export function keyRing(secrets: string[]): KeyRing {
  if (secrets.length === 0) throw new SecretError('a key ring needs at least one secret');
  const all = secrets.map(signingKey);
  return { current: must(all[0], 'the first key'), all };
}

export function newSecret(): string {
  return randomBytes(32).toString('base64url');
}

/** A ring whose one key lives only in this process (tests, an in-memory database). */
export function ephemeralKeyRing(): KeyRing {
  return keyRing([newSecret()]);
}

export function findKey(ring: KeyRing, id: Buffer): SigningKey | undefined {
  return ring.all.find((k) => k.id.equals(id));
}

export interface LoadedKeys {
  ring: KeyRing;
  /** Where the secrets came from, for the start-up log (never the secrets themselves). */
  source: 'env' | 'file' | 'generated' | 'ephemeral';
  file?: string;
}

/**
 * The key ring of a collector or CLI: MICROSEG_SECRET when set, else the key file in the data
 * directory (next to the database), created with mode 0600 on first use.
 */
export function loadKeyRing(opts: {
  secret?: string | undefined;
  dataDir?: string | undefined;
}): LoadedKeys {
  if (opts.secret)
    return { ring: keyRing(parseSecrets(opts.secret, 'MICROSEG_SECRET')), source: 'env' };
  if (!opts.dataDir) return { ring: ephemeralKeyRing(), source: 'ephemeral' };
  const file = join(opts.dataDir, SECRET_FILE);
  mkdirSync(opts.dataDir, { recursive: true });
  try {
    // `wx`: when two processes start at once, one creates the file and the other reads it.
    writeFileSync(file, `${newSecret()}\n`, { mode: 0o600, flag: 'wx' });
    return {
      ring: keyRing(parseSecrets(readFileSync(file, 'utf8'), file)),
      source: 'generated',
      file,
    };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
  if ((statSync(file).mode & 0o077) !== 0 && process.platform !== 'win32') {
    throw new SecretError(`${file} is readable by other users: chmod 600 it`);
  }
  return { ring: keyRing(parseSecrets(readFileSync(file, 'utf8'), file)), source: 'file', file };
}

/**
 * The keys of the collector whose database is `db`: the key file sits next to a SQLite file. A
 * PostgreSQL database has no folder on this machine (and a path made of its URL would hold the
 * password), and several collectors sharing one must sign alike: MICROSEG_SECRET is required.
 */
export function keysForDatabase(db: string, secret: string | undefined): LoadedKeys {
  if (isPostgresUrl(db) && !secret) {
    throw new SecretError(
      'MICROSEG_SECRET is required with a PostgreSQL database: the key file lives next to a SQLite file, and every collector on one database must sign with the same keys (generate one with `openssl rand -base64 32`)',
    );
  }
  return loadKeyRing({ secret, dataDir: db === ':memory:' ? undefined : dirname(resolve(db)) });
}
