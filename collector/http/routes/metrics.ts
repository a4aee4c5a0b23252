/**
 * `GET /metrics`. Never public by default: the text names every site with its counts, and
 * rendering it walks every series. It is served on its own listen address (MICROSEG_METRICS_PORT,
 * loopback unless MICROSEG_METRICS_HOST says otherwise) and, only when MICROSEG_METRICS_TOKEN is
 * set, on the public port behind `Authorization: Bearer TOKEN`.
 */
import { Hono, type Handler } from 'hono';
import { bearerToken, keyMatches } from '../auth.ts';
import { fail } from '../errors.ts';
import type { Metrics } from '../metrics.ts';

/** How long one rendering is served again: a scrape flood costs one rendering a second. */
export const METRICS_CACHE_MS = 1000;

/** What a `/metrics` answer renders: a registry, or the registries of a cluster's workers. */
export interface MetricsSource {
  render(): Promise<string>;
  readonly contentType: string;
}

const sourceOf = (m: Metrics | MetricsSource): MetricsSource =>
  'registry' in m ? { render: () => m.registry.metrics(), contentType: m.registry.contentType } : m;

/** The handler: the text rendered at most once per `cacheMs`, one rendering at a time. */
export function metricsHandler(
  metrics: Metrics | MetricsSource,
  cacheMs = METRICS_CACHE_MS,
  now: () => number = Date.now,
): Handler {
  const source = sourceOf(metrics);
  let cached: { at: number; text: Promise<string> } | null = null;
  return async (c) => {
    const t = now();
    if (!cached || t - cached.at >= cacheMs) {
      const text = source.render();
      cached = { at: t, text };
      // A failed rendering is not kept.
      text.catch(() => (cached = null));
    }
    c.header('Content-Type', source.contentType);
    c.header('Cache-Control', 'no-store');
    return c.body(await cached.text);
  };
}

/** The metrics listener's app: `/metrics` and nothing else. */
export function metricsApp(metrics: Metrics | MetricsSource): Hono {
  const app = new Hono();
  app.get('/metrics', metricsHandler(metrics));
  app.notFound((c) => fail(c, 404, 'not_found', 'this listener serves GET /metrics only'));
  return app;
}

/** `/metrics` on the public app, behind a Bearer token (none: the route does not exist there). */
export function publicMetricsRoutes(metrics: Metrics, token: string | undefined): Hono {
  const app = new Hono();
  if (!token) return app;
  const render = metricsHandler(metrics);
  app.get('/metrics', (c, next) => {
    const given = bearerToken(c);
    if (given === undefined || !keyMatches(given, token)) {
      c.header('WWW-Authenticate', 'Bearer realm="microseg-metrics"');
      return fail(
        c,
        401,
        'unauthorized',
        'the metrics token is required: Authorization: Bearer TOKEN',
      );
    }
    return render(c, next);
  });
  return app;
}
