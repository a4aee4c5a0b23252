#!/usr/bin/env node
/**
 * The load generator, in its own process so the server under test never shares an event loop
 * with the load. Forked by run.mjs (one or more of them, each with its share of the connections);
 * receives one job per message, answers with its raw figures:
 *   { url | urls, kind: 'post' | 'get', batch, visitors, connections, duration, warmup, seed, rate? }
 * `rate` (requests per second, all connections together) holds the load at that pace instead of
 * as fast as the server answers: latency then is the server's, not a queue's (the goals phase).
 * It says `{ measuring: true }` when the warm-up ends, so run.mjs can sample the server's CPU time
 * over exactly the measured part, and reports its own CPU time over that part: a generator near
 * 100% of a core is the bottleneck, not the server.
 * `post` sends browser batches of `batch` fresh events for random existing visitors;
 * `get` asks `/v1/segment` for random existing visitors. Every request is generated the same
 * way whatever the target, so the baseline and the collector see the same bytes.
 * Latencies are recorded per response at sub-millisecond resolution (autocannon's own
 * histogram keeps whole milliseconds only).
 */
import autocannon from 'autocannon';
import { collectBody, idGenerator, prng, SITE, visitorId } from './lib/workload.mjs';

function requestFor(job) {
  const rnd = prng(job.seed ?? 7);
  const nextId = idGenerator();
  const ids = Array.from({ length: job.visitors }, (_, i) => visitorId(i));
  const visitor = () => ids[Math.floor(rnd() * ids.length)];
  if (job.kind === 'post') {
    return {
      method: 'POST',
      path: job.path,
      // What the snippet sends: a text/plain body (no preflight) from an allowed page origin.
      headers: { 'content-type': 'text/plain;charset=UTF-8', origin: 'http://localhost:3000' },
      setupRequest: (req) => ({
        ...req,
        body: collectBody(nextId, rnd, visitor(), job.batch, Date.now()),
      }),
    };
  }
  return {
    method: 'GET',
    path: job.path,
    headers: { origin: 'http://localhost:3000' },
    setupRequest: (req) => ({ ...req, path: `${job.path}?site=${SITE}&visitor=${visitor()}` }),
  };
}

/**
 * One autocannon run per target URL (`job.urls`: several collectors, the connections shared among
 * them; else `job.url`), at once, with one set of figures.
 */
async function run(job, duration, record) {
  const urls = job.urls ?? [job.url];
  const latencies = [];
  const statuses = {};
  const results = await Promise.all(
    urls.map(
      (url, i) =>
        new Promise((resolve, reject) => {
          const instance = autocannon(
            {
              url,
              connections:
                Math.floor(job.connections / urls.length) +
                (i < job.connections % urls.length ? 1 : 0),
              duration,
              // autocannon's overallRate is per target: each its share of the job's rate.
              ...(job.rate ? { overallRate: job.rate / urls.length } : {}),
              requests: [requestFor(i === 0 ? job : { ...job, seed: (job.seed ?? 7) * 31 + i })],
              timeout: 10,
            },
            (err, result) => (err ? reject(err) : resolve(result)),
          );
          instance.on('response', (_client, status, _bytes, ms) => {
            statuses[status] = (statuses[status] ?? 0) + 1;
            if (record && status < 400) latencies.push(ms);
          });
        }),
    ),
  );
  const result = {
    duration: Math.max(...results.map((r) => r.duration)),
    errors: results.reduce((a, r) => a + r.errors, 0),
    timeouts: results.reduce((a, r) => a + r.timeouts, 0),
  };
  return { result, latencies, statuses };
}

process.on('message', async (job) => {
  try {
    const warm = job.warmup > 0 ? await run(job, job.warmup, false) : null;
    process.send({ measuring: true });
    const cpu = process.cpuUsage();
    const wall = performance.now();
    const { result, latencies, statuses } = await run(job, job.duration, true);
    const used = process.cpuUsage(cpu);
    const sent = (r) => (r ? Object.values(r.statuses).reduce((a, b) => a + b, 0) : 0);
    process.send({
      ok: true,
      latencies: Float64Array.from(latencies),
      seconds: result.duration,
      // Share of one core this process used while measuring (1 = a whole core).
      cpu: (used.user + used.system) / 1000 / (performance.now() - wall),
      statuses,
      errors: result.errors,
      timeouts: result.timeouts,
      // Every answered request, warm-up included: the denominator of a profile's time per request.
      answered: sent(warm) + sent({ statuses }),
    });
  } catch (err) {
    process.send({ ok: false, error: String(err?.stack ?? err) });
  }
});
