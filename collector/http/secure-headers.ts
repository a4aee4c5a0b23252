/**
 * Security headers of every answer. Hono's `secureHeaders` sets them one by one on a `Headers`
 * object after each handler; the hot routes (`/v1/segment`, `/v1/collect`) instead answer with
 * one plain header object that already holds them, which @hono/node-server hands to Node as is:
 * no `Headers` object, no copy.
 */

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
  headers: Readonly<Record<string, string>>,
): Response {
  const res = new Response(body, { status, headers });
  complete.add(res);
  return res;
}

/** Adds the security set to every other answer (error pages, the demo, the snippet…). */
const ENTRIES = Object.entries(SECURITY_HEADERS);

/** Adds the security set to an answer not built by `respond` (app.ts runs it after every route). */
export function secure(res: Response): void {
  if (complete.has(res)) return;
  const headers = res.headers;
  for (const [name, value] of ENTRIES) headers.set(name, value);
  headers.delete('x-powered-by');
}

/** Origins whose JSON header set is kept; past it the sets are made again (wildcard origins). */
const JSON_SETS_KEPT = 256;
const jsonSets = new Map<string | undefined, Readonly<Record<string, string>>>();

/**
 * The headers of a JSON answer to `origin` (security set, CORS, content type), built once per
 * origin and shared: frozen, since Node and @hono/node-server only read them. `extra` (an ETag…)
 * makes a set of its own, not kept here.
 */
export function jsonHeaders(
  origin: string | undefined,
  contentType = 'application/json',
  extra?: Record<string, string>,
): Readonly<Record<string, string>> {
  if (extra === undefined) {
    const kept = jsonSets.get(origin);
    if (kept !== undefined && kept['content-type'] === contentType) return kept;
  }
  const headers = secureHeaderSet();
  headers.vary = 'Origin';
  if (origin) headers['access-control-allow-origin'] = origin;
  headers['content-type'] = contentType;
  if (extra !== undefined) return Object.freeze(Object.assign(headers, extra));
  if (jsonSets.size >= JSON_SETS_KEPT) jsonSets.clear();
  jsonSets.set(origin, Object.freeze(headers));
  return headers;
}
