/** HMAC-SHA256 signatures of webhook bodies: what the worker sends and what a receiver checks. */
import { createHmac, timingSafeEqual } from 'node:crypto';

/** `sha256=<hex>` over `${timestamp}.${body}`: the timestamp is signed so an old delivery cannot be replayed as new. */
export function signBody(secret: string, timestamp: number, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;
}

/**
 * A receiver's check: the signature matches and the timestamp is within `toleranceMs` of `now`.
 * Compared in constant time.
 */
export function verifySignature(
  secret: string,
  timestamp: string | number | undefined,
  body: string,
  signature: string | undefined,
  now = Date.now(),
  toleranceMs = 5 * 60_000,
): boolean {
  const t = Number(timestamp);
  if (!signature || !Number.isFinite(t) || Math.abs(now - t) > toleranceMs) return false;
  const expected = Buffer.from(signBody(secret, t, body));
  const given = Buffer.from(signature);
  return given.length === expected.length && timingSafeEqual(given, expected);
}
