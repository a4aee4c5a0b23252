/** Prometheus metrics of one collector (its own registry, so tests can run many apps). */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export interface Metrics {
  registry: Registry;
  requests: Counter<'route' | 'status'>;
  eventsAccepted: Counter<'site'>;
  eventsDuplicate: Counter<'site'>;
  eventsRefused: Counter<'reason'>;
  commitSeconds: Histogram;
  writeQueueDepth: Gauge;
  rateLimited: Counter<'scope'>;
}

export function createMetrics(opts: { defaults?: boolean } = {}): Metrics {
  const registry = new Registry();
  if (opts.defaults) collectDefaultMetrics({ register: registry, prefix: 'microseg_' });
  const registers = [registry];
  return {
    registry,
    requests: new Counter({
      name: 'microseg_http_requests_total',
      help: 'HTTP requests by route and status code',
      labelNames: ['route', 'status'],
      registers,
    }),
    eventsAccepted: new Counter({ name: 'microseg_events_accepted_total', help: 'Events stored', labelNames: ['site'], registers }),
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
    commitSeconds: new Histogram({
      name: 'microseg_commit_seconds',
      help: 'Time to commit one write transaction',
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
      registers,
    }),
    writeQueueDepth: new Gauge({ name: 'microseg_write_queue_depth', help: 'Batches waiting for the next group commit', registers }),
    rateLimited: new Counter({
      name: 'microseg_rate_limited_total',
      help: 'Requests answered 429, by limit',
      labelNames: ['scope'],
      registers,
    }),
  };
}
