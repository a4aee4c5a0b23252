/**
 * The client's address, used only as an input to a salted hash that rotates daily (as
 * Plausible does): the raw IP is never stored or logged.
 */
import { randomBytes } from 'node:crypto';
import type { Context } from 'hono';
import { digest } from './digest.ts';

/**
 * The socket's address or, behind `trustedProxies` proxies, the X-Forwarded-For hop the outermost
 * of them appended: counted from the right, because every hop left of it is whatever the client
 * sent — taking the first would let anyone pick a fresh address per request past the rate limit.
 */
export function clientIp(c: Context, trustedProxies: number): string {
  if (trustedProxies > 0) {
    const hops = c.req.header('x-forwarded-for')?.split(',');
    const hop = hops?.[hops.length - trustedProxies]?.trim();
    if (hop) return hop;
  }
  const incoming = (c.env as { incoming?: { socket?: { remoteAddress?: string } } } | undefined)
    ?.incoming;
  return incoming?.socket?.remoteAddress ?? 'unknown';
}

/** Addresses whose hash of the day is kept (a few MB at most), so a busy client is hashed once. */
const HASHES_KEPT = 10_000;

/**
 * Hashes with a random salt that is replaced every UTC day and never leaves memory. The day's
 * hashes are kept (at most HASHES_KEPT, then all forgotten), so a client sending request after
 * request costs a Map lookup, not a SHA-256; they go with the salt.
 */
export function dailyHasher() {
  let day = -1;
  let salt = '';
  let kept = new Map<string, string>();
  return (value: string, now: number): string => {
    const today = Math.floor(now / 86_400_000);
    if (today !== day) {
      day = today;
      salt = randomBytes(16).toString('base64url');
      kept = new Map();
    }
    let h = kept.get(value);
    if (h === undefined) {
      h = digest('sha256', `${salt}:${value}`).slice(0, 16);
      if (kept.size >= HASHES_KEPT) kept = new Map();
      kept.set(value, h);
    }
    return h;
  };
}
