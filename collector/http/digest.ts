/** Hashing for the request path. */
import { createHash, hash } from 'node:crypto';

/**
 * `alg` of `text`, base64url. `crypto.hash` (Node ≥ 20.12) skips the Hash object of `createHash`,
 * which counts on every browser request; older Node falls back to it.
 */
export const digest: (alg: 'sha1' | 'sha256', text: string) => string =
  typeof hash === 'function'
    ? (alg, text) => hash(alg, text, 'base64url')
    : (alg, text) => createHash(alg).update(text).digest('base64url');
