/**
 * The collector's HTTP app. `createApp(opts)` needs only its storage, config, clock and snippets, so
 * a test builds one in a line and runs it under `app.request()` or a real server alike; the rest
 * has defaults (`withDefaults`), and routes receive the complete `Deps`.
 */
import cluster from 'node:cluster';
import { Hono } from 'hono';
import { HTTPException } from 'hono/http-exception';
import { routePath } from 'hono/route';
import { createMetrics, type Metrics } from './metrics.ts';
import { secure } from './secure-headers.ts';
import { browserGuard, siteServer, type RateLimits } from './routes/limits.ts';
import { allowOriginOfAnySite, NO_ORIGINS, writerOrigin } from './origins.ts';
import type { Config } from '../config/config.ts';
import type { Storage } from '../storage/contract.ts';
import type { Snippets } from './snippet-asset.ts';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { errorCode, fail } from './errors.ts';
import { checkHealth, storageFailure } from './health.ts';
import { collectRoutes } from './routes/collect.ts';
import { segmentRoutes } from './routes/segment.ts';
import { assetRoutes } from './routes/assets.ts';
import { demoRoutes } from './routes/demo.ts';
import { redirectRoutes } from './routes/redirect.ts';
import { linkRoutes } from './routes/links.ts';
import { contactRoutes } from './routes/contacts.ts';
import { eventsRoutes } from './routes/events.ts';
import { adminRoutes } from './routes/admin.ts';
import { statsRoutes } from './routes/stats.ts';
import { publicMetricsRoutes } from './routes/metrics.ts';
import { ruleRoutes } from './routes/rules.ts';
import { goalRoutes } from './routes/goals.ts';
import { type RuntimeRules, runtimeRules } from '../rules/runtime.ts';
import { type RuntimeGoals, runtimeGoals } from '../goals/runtime.ts';
import { dashboardRoutes } from '../dashboard/app.ts';
import { ephemeralKeyRing, type KeyRing } from '../identity/keys.ts';
import { type Notice, notices } from '../log.ts';
import { LiveFeed } from '../live/feed.ts';
import { rateLimitedEntry } from '../live/outcomes.ts';

export type LogFn = (
  level: 'info' | 'warn' | 'error',
  msg: string,
  fields?: Record<string, unknown>,
) => void;

/** What the routes use: every dependency present, so no route guesses a default. */
export interface Deps {
  storage: Storage;
  config: Config;
  /** Epoch ms; tests pass a fixed clock. */
  now: () => number;
  /** The snippet's scripts, served at `/ms.js`, `/ms.rules.js` and `/ms.cookie.js`. */
  snippets: Snippets;
  /** Serve `GET /demo`. */
  demo: boolean;
  /** Serve the dashboard at `/dashboard/` (MICROSEG_DASHBOARD). */
  dashboard: boolean;
  /** Keys of identity tokens and email links. */
  keys: KeyRing;
  /** The collector's public URL, the base of email links (MICROSEG_PUBLIC_URL); else the request's origin. */
  publicUrl: string | undefined;
  /**
   * The collector's own origins, always allowed as page origins (`ownOrigins`: the public URL's,
   * else the listen address's). Never derived from a request's `Host`.
   */
  selfOrigins: ReadonlySet<string>;
  log: LogFn;
  /** Warnings once per site and reason (origin refused, bots, unknown site, no category rule). */
  notice: Notice;
  /** Prometheus metrics. */
  metrics: Metrics;
  /** Per-IP and per-visitor request limits of the browser endpoints; undefined: none. */
  limits: RateLimits | undefined;
  /** A browser request's body must arrive in full within this (MICROSEG_BODY_TIMEOUT_MS); 0 or undefined: no limit. */
  bodyTimeoutMs: number | undefined;
  /** Ingest outcomes for the dashboard's Live page; publishers check `live.wants(site)` first. */
  live: LiveFeed;
  /** Serves `/metrics` on this app behind `Authorization: Bearer` this (MICROSEG_METRICS_TOKEN); undefined: not here. */
  metricsToken: string | undefined;
  /** The runtime rules in force in this process (`/v1/rules`; rules/runtime.ts). */
  rules: RuntimeRules;
  /** The goals and models in force in this process (`/v1/goals`; goals/runtime.ts). */
  goals: RuntimeGoals;
}

/** What a caller must give; everything else has a default (see `withDefaults`). */
export type AppOptions = Pick<Deps, 'storage' | 'config' | 'now' | 'snippets'> &
  Partial<Omit<Deps, 'storage' | 'config' | 'now' | 'snippets'>>;

/**
 * The complete `Deps` of `opts`: the demo and the dashboard on, a key ring living only in this process, no own
 * origins, no log, a fresh metrics registry, no limits.
 */
export function withDefaults(opts: AppOptions): Deps {
  const metrics = opts.metrics ?? createMetrics();
  const log = opts.log ?? (() => {});
  return {
    ...opts,
    demo: opts.demo ?? true,
    dashboard: opts.dashboard ?? true,
    keys: opts.keys ?? ephemeralKeyRing(),
    publicUrl: opts.publicUrl,
    selfOrigins: opts.selfOrigins ?? NO_ORIGINS,
    log,
    notice: opts.notice ?? notices(log, opts.now),
    metrics,
    limits: opts.limits,
    bodyTimeoutMs: opts.bodyTimeoutMs,
    metricsToken: opts.metricsToken,
    rules: opts.rules ?? runtimeRules(opts.storage, opts.config, { log }),
    goals: opts.goals ?? runtimeGoals(opts.storage, opts.config, { log }),
    live: opts.live ?? new LiveFeed(),
  };
}

export function createApp(opts: AppOptions): Hono {
  const deps = withDefaults(opts);
  const app = new Hono();
  const { log, metrics } = deps;
  const { storage } = deps;
  metrics.sources.deliveries ??= () => storage.outbox.counts();
  storage.onSkipped((site, n) => metrics.quarantineSkipped.inc({ site }, n));
  storage.observeWrites({
    depth: (n) => metrics.writeQueueDepth.set(n),
    committed: (seconds) => metrics.commitSeconds.observe(seconds),
  });

  // One middleware for both (security headers, then the request count): each layer of Hono's
  // chain is a promise and a closure per request.
  // The counter of each route and status, looked up once (prom-client hashes the labels per call).
  const counters = new Map<string, Map<number, { inc(): void }>>();
  const requestCount = (route: string, status: number) => {
    let byStatus = counters.get(route);
    if (byStatus === undefined) {
      byStatus = new Map();
      counters.set(route, byStatus);
    }
    let counter = byStatus.get(status);
    if (counter === undefined) {
      counter = metrics.requests.labels(route, String(status));
      byStatus.set(status, counter);
    }
    return counter;
  };
  app.use('*', async (c, next) => {
    await next();
    secure(c.res);
    requestCount(routePath(c, -1), c.res.status).inc();
  });
  if (deps.limits) {
    // One address may hold only so many browser requests open at once (slow bodies included),
    // so it cannot take the server from everyone else, and send only so many a minute. The site
    // is not known yet: the 429 is readable by an origin some site allows.
    const guard = browserGuard(
      deps.limits,
      metrics,
      (c) => allowOriginOfAnySite(c, deps.config, deps.selfOrigins, writerOrigin(c)),
      // Before the body is read the site is not known: only an every-site watcher sees it.
      (c, scope) => {
        if (deps.live.wants(null))
          deps.live.publish([
            rateLimitedEntry(deps.now(), null, writerOrigin(c) ?? null, scope, 0),
          ]);
      },
      // A site's server reading segments for its pages, with the site's key, is not a browser.
      siteServer(deps.config),
    );
    // Each email-link click writes an event: a link replayed in a loop is held like a browser.
    for (const path of ['/v1/collect', '/v1/segment', '/r']) app.use(path, guard);
  }

  app.route('/', collectRoutes(deps));
  app.route('/', segmentRoutes(deps));
  app.route('/', redirectRoutes(deps));
  app.route('/', linkRoutes(deps));
  app.route('/', contactRoutes(deps));
  app.route('/', eventsRoutes(deps));
  app.route('/', adminRoutes(deps));
  app.route('/', statsRoutes(deps));
  app.route('/', ruleRoutes(deps));
  app.route('/', goalRoutes(deps));
  app.route('/', assetRoutes(deps));
  if (deps.demo) app.route('/', demoRoutes(deps));
  if (deps.dashboard) app.route('/', dashboardRoutes(deps));

  // 503 while writes fail (a full or broken disk) or the database does not answer: a load
  // balancer or orchestrator then sees what clients see.
  // Under `serve --workers N`, which worker answered (its cluster number, 1, 2, …; a restarted
  // worker gets the next): a load balancer's check or an operator tells them apart.
  const worker = cluster.isWorker && cluster.worker ? { worker: cluster.worker.id } : {};
  app.get('/healthz', async (c) => {
    const health = await checkHealth(storage, Date.now());
    return c.json({ ...health, ...worker }, health.ok ? 200 : 503);
  });

  // Off the public port unless a token is set; the metrics listener serves it (server.ts).
  app.route('/', publicMetricsRoutes(metrics, deps.metricsToken));

  app.notFound((c) =>
    fail(c, 404, 'not_found', `no route for ${c.req.method} ${new URL(c.req.url).pathname}`),
  );
  let lastStorageLog = 0;
  app.onError((err, c) => {
    if (err instanceof HTTPException) {
      const status = err.getResponse().status as ContentfulStatusCode;
      const code = errorCode(status);
      return fail(c, status, code, err.message || code.replace(/_/g, ' '));
    }
    const storage = storageFailure(err);
    if (storage) {
      // Once a second at most: every request fails alike, and the log may sit on the full disk.
      const t = Date.now();
      if (t - lastStorageLog >= 1000) {
        lastStorageLog = t;
        log('error', 'write failed', { path: c.req.path, code: storage.code });
      }
      c.header('Retry-After', String(storage.retryAfter));
      return fail(c, 503, storage.error, storage.message);
    }
    log('error', 'unhandled error', { path: c.req.path, err: String(err?.stack ?? err) });
    return fail(c, 500, 'internal', 'the collector failed to handle this request');
  });
  return app;
}
