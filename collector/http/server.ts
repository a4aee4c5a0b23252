/** Starts the collector: config, storage, app and a real HTTP server. */
import { serve, type ServerType } from '@hono/node-server';
import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import { createApp } from './app.ts';
import { LiveFeed } from '../live/feed.ts';
import { joinClusterLive } from '../live/cluster-relay.ts';
import { ConfigError } from '../config/config.ts';
import { redactDbUrl } from '../config/db-url.ts';
import {
  DEFAULT_TIMEOUTS,
  type EnvOptions,
  loadSiteConfig,
  readEnv,
  type Timeouts,
} from '../config/env.ts';
import { jsonLogger, type Logger } from '../log.ts';
import cluster from 'node:cluster';
import { clusterMetricsSource, createMetrics, joinClusterMetrics } from './metrics.ts';
import { loadSnippets } from './snippet-asset.ts';
import { metricsApp } from './routes/metrics.ts';
import type { Storage } from '../storage/contract.ts';
import { openStorage } from '../storage/open.ts';
import { startWebhooks } from '../webhooks/index.ts';
import { runJobsWhileLeader } from '../jobs/leader.ts';
import { startRetentionJob } from '../jobs/retention.ts';
import { startSegmentSweep } from '../jobs/sweep.ts';
import { runtimeRules } from '../rules/runtime.ts';
import { runtimeGoals } from '../goals/runtime.ts';
import { startRuleBackfill } from '../rules/backfill.ts';
import { startGoalTraining } from '../jobs/goals.ts';
import { startSegmentSizes } from '../jobs/segment-sizes.ts';
import { RFM_EVERY_MS, startRfmJob } from '../jobs/rfm.ts';
import { isWildcardHost, ownOrigins } from './origins.ts';
import { keysForDatabase } from '../identity/keys.ts';

/** What `start` takes: the environment's settings (`EnvOptions`), a few of them optional here. */
export type ServeOptions = Omit<EnvOptions, 'timeouts' | 'profileCache' | 'workers'> & {
  /** Ignored here: `serve --workers` runs several of these (cli/cluster.ts). */
  workers?: number | undefined;
  /** How long a client may take to send a request; defaults DEFAULT_TIMEOUTS. */
  timeouts?: Timeouts | undefined;
  /** Parsed profiles kept in memory for segment reads; DEFAULT_PROFILE_CACHE when undefined. */
  profileCache?: number | undefined;
  /** How long shutdown waits for requests in flight before cutting connections. */
  shutdownGraceMs?: number;
  /** How often the background job recomputes RFM quintiles (default RFM_EVERY_MS). */
  rfmEveryMs?: number;
  /** How often a process that does not run the background jobs tries to take them over (ms). */
  leaderRetryMs?: number;
};

export { DEFAULT_TIMEOUTS, isPort, type Timeouts } from '../config/env.ts';

/** How often the WAL is checkpointed into the database file, off the event loop (checkpointer.ts). */
const CHECKPOINT_EVERY_MS = 250;

/** Options from the environment (12-factor), validated, with the zero-config defaults of DESIGN.md. */
export function optionsFromEnv(env: NodeJS.ProcessEnv = process.env): ServeOptions {
  return readEnv(env);
}

export { RFM_EVERY_MS, startRfmJob } from '../jobs/rfm.ts';

/** Starts one HTTP listener; resolves with it and the port it got (port 0 picks a free one). */
async function listen(options: Parameters<typeof serve>[0] & { port: number; hostname: string }) {
  const server = await new Promise<ServerType>((ok, fail) => {
    const s = serve(options, () => ok(s));
    s.once('error', fail);
  });
  const addr = server.address();
  return { server, port: typeof addr === 'object' && addr ? addr.port : options.port };
}

/**
 * The metrics listener of `serve --workers`' primary: `/metrics` with every worker's registry
 * summed (the workers open none).
 */
export async function serveClusterMetrics(opts: {
  metricsPort: number;
  metricsHost?: string | undefined;
}): Promise<{ url: string; close(): void }> {
  const host = opts.metricsHost ?? '127.0.0.1';
  const { server, port } = await listen({
    fetch: metricsApp(clusterMetricsSource()).fetch,
    port: opts.metricsPort,
    hostname: host,
  });
  return { url: baseUrl(host, port), close: () => server.close() };
}

function baseUrl(host: string, port: number): string {
  return `http://${host === '0.0.0.0' ? 'localhost' : host}:${port}`;
}

export interface Running {
  server: ServerType;
  storage: Storage;
  url: string;
  /** `/demo/` is served: on (`--no-demo` not given) and the config has a `demo` site. */
  demo: boolean;
  /** The metrics listener's base URL, when there is one. */
  metricsUrl?: string;
  /** The background jobs: whether this process leads them. */
  jobs: { readonly leader: boolean };
  close(): Promise<void>;
}

export async function start(
  opts: ServeOptions,
  log: Logger = jsonLogger(opts.logLevel),
): Promise<Running> {
  const config = loadSiteConfig(opts);
  if (opts.publicUrl && !(/^https?:\/\//.test(opts.publicUrl) && URL.canParse(opts.publicUrl))) {
    throw new ConfigError(`MICROSEG_PUBLIC_URL must be an http(s) URL, not "${opts.publicUrl}"`);
  }
  if (opts.metricsToken !== undefined && opts.metricsToken.length < 16) {
    throw new ConfigError('MICROSEG_METRICS_TOKEN must have at least 16 characters');
  }
  const time = opts.timeouts ?? DEFAULT_TIMEOUTS;
  // Checkpoints from a worker thread: the writer (this thread) never waits for the disk's fsync.
  const storage = await openStorage(opts.db, {
    profileCache: opts.profileCache,
    poolSize: opts.poolSize,
    checkpointEveryMs: CHECKPOINT_EVERY_MS,
    onCheckpointError: (err) => log('warn', 'wal checkpoint failed', { err }),
    // PostgreSQL: an idle connection the server ended (a restart); the pool opens another.
    onPoolError: (message) => log('warn', 'database connection lost', { message }),
  });
  const keys = keysForDatabase(opts.db, opts.secret);
  log('info', 'signing keys', {
    source: keys.source,
    keys: keys.ring.all.length,
    ...(keys.file ? { file: keys.file } : {}),
  });
  const metrics = createMetrics({ defaults: true });
  // A worker of `serve --workers`: the primary's metrics listener reads this registry.
  joinClusterMetrics(metrics);
  // Filled once the port is known (port 0 picks one); no request arrives before that.
  const selfOrigins = new Set<string>();
  // Rules saved through the API, in force before the first request; polled for other processes'.
  const rules = runtimeRules(storage, config, { log });
  await rules.ready;
  // Goals and their models likewise: each read answers their probabilities from the start.
  const goalsInForce = runtimeGoals(storage, config, { log });
  await goalsInForce.ready;
  // The dashboard's live feed; a worker of `serve --workers` links it to the others' (cluster-relay.ts).
  const live = new LiveFeed();
  joinClusterLive(live);
  const app = createApp({
    rules,
    goals: goalsInForce,
    live,
    storage,
    config,
    now: Date.now,
    snippets: loadSnippets(),
    demo: opts.demo,
    dashboard: opts.dashboard ?? true,
    log,
    metrics,
    limits: opts.limits,
    keys: keys.ring,
    publicUrl: opts.publicUrl,
    selfOrigins,
    metricsToken: opts.metricsToken,
    bodyTimeoutMs: time.bodyMs,
  });
  // The background jobs run in one process among all those on the database (jobs/leader.ts).
  const jobs = runJobsWhileLeader(
    storage,
    () => {
      const rfm = startRfmJob(storage, config, opts.rfmEveryMs ?? RFM_EVERY_MS, Date.now, log);
      const retention = startRetentionJob(storage, config, { now: Date.now, log });
      const sweep = startSegmentSweep(storage, config, { now: Date.now, log });
      const sizes = startSegmentSizes(storage, config, { now: Date.now, log });
      const backfill = startRuleBackfill(storage, config, rules, { now: Date.now, log });
      const goals = startGoalTraining(storage, config, { now: Date.now, log });
      return {
        stop() {
          goals.stop();
          backfill.stop();
          rfm.stop();
          retention.stop();
          sweep.stop();
          sizes.stop();
        },
      };
    },
    {
      log,
      retryMs: opts.leaderRetryMs,
      onChange: (leader) => metrics.jobsLeader.set(leader ? 1 : 0),
    },
  );
  // Pending deliveries left by a previous run (crash included) are sent as soon as this starts.
  const webhooks = startWebhooks(storage, config, { now: Date.now, log });
  const serverOptions = {
    headersTimeout: time.headersMs,
    requestTimeout: time.requestMs,
    // How often Node looks for requests past those timeouts (its default, 30 s, would let one
    // run up to 30 s late).
    connectionsCheckingInterval: 1000,
  };
  const { server, port } = await listen({
    fetch: app.fetch,
    port: opts.port,
    hostname: opts.host,
    serverOptions,
  });
  if (time.headersMs > 0) {
    // Node's headersTimeout runs from a request's first byte: a connection that never sends one
    // would stay open for good. Until its first request, an idle socket gets the same time.
    server.on('connection', (socket: Socket) => socket.setTimeout(time.headersMs));
    server.on('request', (req: IncomingMessage) => req.socket.setTimeout(0));
  }
  const url = baseUrl(opts.host, port);
  for (const o of ownOrigins(opts.publicUrl, opts.host, port)) selfOrigins.add(o);
  // On every interface, the collector is meant to be reached by a name this process cannot know:
  // without a public URL, the links POST /v1/links makes point at localhost (the Host header,
  // which a client chooses, is no longer trusted for it).
  if (!opts.publicUrl && isWildcardHost(opts.host)) {
    const base = selfOrigins.values().next().value;
    const message = `MICROSEG_PUBLIC_URL is not set: email links made by POST /v1/links start with ${base}`;
    // Zero-config (the demo site only, as in the quick start) makes no real email links: no warning.
    log(opts.config ? 'warn' : 'info', message, { host: opts.host });
  }
  // Metrics on their own address, loopback by default: Prometheus scrapes it, the public does not.
  let metricsServer: ServerType | undefined;
  let metricsUrl: string | undefined;
  if (opts.metricsPort !== undefined && !cluster.isWorker) {
    const host = opts.metricsHost ?? '127.0.0.1';
    const listening = await listen({
      fetch: metricsApp(metrics).fetch,
      port: opts.metricsPort,
      hostname: host,
    });
    metricsServer = listening.server;
    metricsUrl = baseUrl(host, listening.port);
  }
  const sites = [...config.sites.keys()];
  await jobs.ready;
  log('info', 'collector listening', {
    url,
    db: redactDbUrl(opts.db),
    sites,
    // Whether the background jobs run here or in another process on the database (for now).
    jobs: jobs.leader ? 'leader' : 'standby',
    ...(metricsUrl ? { metrics: metricsUrl } : {}),
  });
  return {
    server,
    storage,
    url,
    jobs,
    demo: opts.demo && config.sites.has('demo'),
    ...(metricsUrl ? { metricsUrl } : {}),
    // Graceful: stop accepting, let requests in flight finish (their writes commit and are
    // answered), drain the write queue, then close the database.
    close: () =>
      new Promise<void>((done) => {
        // The jobs stop now; the leadership goes with its connection, for another process.
        const jobsStopped = jobs.stop();
        rules.stop();
        goalsInForce.stop();
        metricsServer?.close();
        (
          metricsServer as { closeAllConnections?: () => void } | undefined
        )?.closeAllConnections?.();
        const http = server as unknown as {
          closeIdleConnections?: () => void;
          closeAllConnections?: () => void;
        };
        const force = setTimeout(
          () => http.closeAllConnections?.(),
          opts.shutdownGraceMs ?? 10_000,
        );
        server.close(() => {
          clearTimeout(force);
          // Deliveries in flight are aborted and stay pending, handed back to the other collectors
          // on the database (their leases ended) or sent by the next start.
          void jobsStopped
            .then(() => storage.drain())
            .then(() => webhooks.stop())
            .then(() => storage.close())
            .then(() => {
              log('info', 'collector closed', {});
              done();
            });
        });
        http.closeIdleConnections?.();
      }),
  };
}
