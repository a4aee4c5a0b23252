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
    return digest('sha256', `${salt}:${value}`).slice(0, 16);
  };
}
