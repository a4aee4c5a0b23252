/** Prometheus metrics of one collector (its own registry, so tests can run many apps). */
import cluster from 'node:cluster';
import {
  AggregatorRegistry,
  Counter,
  Gauge,
  Histogram,
  Registry,
  collectDefaultMetrics,
} from 'prom-client';

export interface Metrics {
  registry: Registry;
  requests: Counter<'route' | 'status'>;
  eventsAccepted: Counter<'site'>;
  eventsDuplicate: Counter<'site'>;
  eventsRefused: Counter<'reason'>;
  snippetDropped: Counter<'site'>;
  quarantineSkipped: Counter<'site'>;
  commitSeconds: Histogram;
  writeQueueDepth: Gauge;
  rateLimited: Counter<'scope'>;
  webhookDeliveries: Gauge<'status'>;
  /** 1 while this process runs the background jobs (the leader among those on its database). */
  jobsLeader: Gauge;
  /** Read at scrape time; the app fills them in from its storage. */
  sources: MetricSources;
}

export interface MetricSources {
  /** Webhook deliveries per status, read at scrape time. */
  deliveries?: () => Promise<Record<string, number>>;
}

export function createMetrics(opts: { defaults?: boolean; sources?: MetricSources } = {}): Metrics {
  const sources: MetricSources = opts.sources ?? {};
  const registry = new Registry();
  if (opts.defaults) collectDefaultMetrics({ register: registry, prefix: 'microseg_' });
  const registers = [registry];
  return {
    registry,
    sources,
    requests: new Counter({
      name: 'microseg_http_requests_total',
      help: 'HTTP requests by route and status code',
      labelNames: ['route', 'status'],
      registers,
    }),
    eventsAccepted: new Counter({
      name: 'microseg_events_accepted_total',
      help: 'Events stored',
      labelNames: ['site'],
      registers,
    }),
    eventsDuplicate: new Counter({
      name: 'microseg_events_duplicate_total',
      help: 'Events already stored (retries), counted once',
      labelNames: ['site'],
      registers,
    }),
    eventsRefused: new Counter({
      name: 'microseg_events_refused_total',
      help: 'Events or batches refused, by reason code',
      labelNames: ['reason'],
      registers,
    }),
    snippetDropped: new Counter({
      name: 'microseg_snippet_dropped_events_total',
      help: 'Events browsers dropped from their full retry queue, as they reported with the next batch',
      labelNames: ['site'],
      registers,
    }),
    quarantineSkipped: new Counter({
      name: 'microseg_quarantine_skipped_total',
      help: 'Refused events not kept in quarantine: over the per-request or per-site daily cap',
      labelNames: ['site'],
      registers,
    }),
    commitSeconds: new Histogram({
      name: 'microseg_commit_seconds',
      help: 'Time to commit one write transaction',
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
      registers,
    }),
    writeQueueDepth: new Gauge({
      // Summed over a cluster's workers (cli/cluster.ts), as the counters are.
      name: 'microseg_write_queue_depth',
      help: 'Write jobs (batches, deliveries, jobs) waiting for the next transaction',
      registers,
    }),
    webhookDeliveries: new Gauge({
      name: 'microseg_webhook_deliveries',
      help: 'Webhook deliveries by status: pending is the backlog, failed awaits a replay',
      labelNames: ['status'],
      registers,
      // Read from the database: every worker of a cluster reads the same figures.
      aggregator: 'max',
      async collect() {
        const counts = await sources.deliveries?.();
        if (counts) for (const [status, n] of Object.entries(counts)) this.set({ status }, n);
      },
    }),
    jobsLeader: new Gauge({
      name: 'microseg_jobs_leader',
      help: 'Whether this process runs the background jobs (RFM, sweep, retention): 1 on the one leader among the collectors on a database',
      registers,
    }),
    rateLimited: new Counter({
      name: 'microseg_rate_limited_total',
      help: 'Requests answered 429, by limit',
      labelNames: ['scope'],
      registers,
    }),
  };
}

/**
 * Under `serve --workers N` (a cluster worker): answers the primary's requests for this registry,
 * which it sums with the other workers' into one `/metrics` (`clusterMetricsSource`).
 */
export function joinClusterMetrics(metrics: Metrics): void {
  if (!cluster.isWorker) return;
  AggregatorRegistry.setRegistries([metrics.registry]);
  // The constructor installs the worker's answering side.
  new AggregatorRegistry();
}

/** The primary's `/metrics`: every worker's registry, counters and histograms summed. */
export function clusterMetricsSource(): { render(): Promise<string>; contentType: string } {
  const aggregator = new AggregatorRegistry();
  return { render: () => aggregator.clusterMetrics(), contentType: aggregator.contentType };
}
