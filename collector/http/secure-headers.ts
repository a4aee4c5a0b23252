/**
 * Security headers of every answer. Hono's `secureHeaders` sets them one by one on a `Headers`
 * object after each handler; the hot routes (`/v1/segment`, `/v1/collect`) instead answer with
 * one plain header object that already holds them, which @hono/node-server hands to Node as is:
 * no `Headers` object, no copy.
 */
import type { MiddlewareHandler } from 'hono';

/**
 * A fresh header object holding the security set, for `respond`: Hono's secure defaults
 * (nosniff, frame and referrer policy, HSTS…), except that the snippet, the API and the demo are
 * loaded cross-origin by design: resources are `cross-origin` and there is no opener policy. A
 * test holds it equal to `secureHeaders({ crossOriginResourcePolicy: 'cross-origin', crossOriginOpenerPolicy: false })`.
 */
export function secureHeaderSet(): Record<string, string> {
  // A literal, not a spread of a constant: V8 builds it from a template, spreads cost ~1 µs.
  return {
    'cross-origin-resource-policy': 'cross-origin',
    'origin-agent-cluster': '?1',
    'referrer-policy': 'no-referrer',
    'strict-transport-security': 'max-age=15552000; includeSubDomains',
    'x-content-type-options': 'nosniff',
    'x-dns-prefetch-control': 'off',
    'x-download-options': 'noopen',
    'x-frame-options': 'SAMEORIGIN',
    'x-permitted-cross-domain-policies': 'none',
    'x-xss-protection': '0',
  };
}

export const SECURITY_HEADERS: Readonly<Record<string, string>> = Object.freeze(secureHeaderSet());

/** Answers built by `respond`: they carry the security headers already. */
const complete = new WeakSet<Response>();

/** A response whose headers are `headers`: a `secureHeaderSet()` the route added its own to. */
export function respond(
  body: string | null,
  status: number,
  headers: Record<string, string>,
): Response {
  const res = new Response(body, { status, headers });
  complete.add(res);
  return res;
}

/** Adds the security set to every other answer (error pages, the demo, the snippet…). */
export function securityHeaders(): MiddlewareHandler {
  const entries = Object.entries(SECURITY_HEADERS);
  return async (c, next) => {
    await next();
    if (complete.has(c.res)) return;
    const headers = c.res.headers;
    for (const [name, value] of entries) headers.set(name, value);
    headers.delete('x-powered-by');
  };
}
