/**
 * The client's address, used only as an input to a salted hash that rotates daily (as
 * Plausible does): the raw IP is never stored or logged.
 */
import { createHash, hash, randomBytes } from 'node:crypto';
import type { Context } from 'hono';

/** The socket's address, or the first X-Forwarded-For hop when the operator trusts a proxy. */
export function clientIp(c: Context, trustProxy: boolean): string {
  if (trustProxy) {
    const xff = c.req.header('x-forwarded-for');
    if (xff) return xff.split(',')[0]!.trim();
  }
  const incoming = (c.env as { incoming?: { socket?: { remoteAddress?: string } } } | undefined)?.incoming;
  return incoming?.socket?.remoteAddress ?? 'unknown';
}

/** Hashes with a random salt that is replaced every UTC day and never leaves memory. */
export function dailyHasher() {
  let day = -1;
  let salt = '';
  return (value: string, now: number): string => {
    const today = Math.floor(now / 86_400_000);
    if (today !== day) {
      day = today;
      salt = randomBytes(16).toString('base64url');
    }
    // On every browser request: `crypto.hash` (Node ≥ 20.12) skips the Hash object.
    const salted = `${salt}:${value}`;
    return (typeof hash === 'function' ? hash('sha256', salted, 'base64url') : createHash('sha256').update(salted).digest('base64url')).slice(0, 16);
  };
}
