#!/usr/bin/env node
/**
 * The load generator, in its own process so the server under test never shares an event loop
 * with the load. Forked by run.mjs (one or more of them, each with its share of the connections);
 * receives one job per message, answers with its raw figures:
 *   { url | urls, kind: 'post' | 'get', batch, visitors, connections, duration, warmup, seed, rate? }
 * `rate` (requests per second, all connections together) holds the load at that pace instead of
 * as fast as the server answers, evenly spaced (`paced`): latency then is the server's, not a
 * queue's (the goals phase).
 * It says `{ measuring: true }` when the warm-up ends, so run.mjs can sample the server's CPU time
 * over exactly the measured part, and reports its own CPU time over that part: a generator near
 * 100% of a core is the bottleneck, not the server.
 * `post` sends browser batches of `batch` fresh events for random existing visitors;
 * `get` asks `/v1/segment` for random existing visitors. Every request is generated the same
 * way whatever the target, so the baseline and the collector see the same bytes.
 * Latencies are recorded per response at sub-millisecond resolution (autocannon's own
 * histogram keeps whole milliseconds only).
 */
import { Agent, request } from 'node:http';
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
 * As fast as the server answers: one autocannon run per target URL (`job.urls`: several
 * collectors, the connections shared among them; else `job.url`), at once, with one set of
 * figures.
 */
async function flat(job, duration, record) {
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

/**
 * The load at a steady pace (`job.rate`): each connection sends one request every
 * `connections / rate` seconds, their slots spread evenly over that interval, and waits for its
 * answer (a late answer delays that connection's next request; it never sends two at once).
 * autocannon's rate options cannot do this: each connection sends its quota for a second back
 * to back when the second starts, so the whole rate arrives as one burst each second and the
 * latency measured is how long the burst takes to drain.
 */
async function paced(job, duration, record) {
  const urls = job.urls ?? [job.url];
  const agent = new Agent({ keepAlive: true, maxSockets: job.connections });
  const template = requestFor(job);
  const interval = (job.connections / job.rate) * 1000;
  const latencies = [];
  const statuses = {};
  let errors = 0;
  let timeouts = 0;
  const start = performance.now();
  const end = start + duration * 1000;
  const send = (url) =>
    new Promise((done) => {
      const r = template.setupRequest({ method: template.method, path: template.path });
      const sent = performance.now();
      const req = request(
        new URL(r.path, url),
        { method: template.method, headers: template.headers, agent, timeout: 10_000 },
        (res) => {
          res.resume();
          res.on('end', () => {
            statuses[res.statusCode] = (statuses[res.statusCode] ?? 0) + 1;
            if (record && res.statusCode < 400) latencies.push(performance.now() - sent);
            done();
          });
        },
      );
      req.on('timeout', () => {
        timeouts++;
        req.destroy();
      });
      req.on('error', () => {
        errors++;
        done();
      });
      req.end(r.body);
    });
  const sleep = (ms) => new Promise((ok) => setTimeout(ok, Math.max(0, ms)));
  await Promise.all(
    Array.from({ length: job.connections }, async (_, i) => {
      const url = urls[i % urls.length];
      for (let due = start + (i * interval) / job.connections; due < end; due += interval) {
        await sleep(due - performance.now());
        if (performance.now() >= end) break;
        await send(url);
      }
    }),
  );
  agent.destroy();
  return {
    result: { duration: (performance.now() - start) / 1000, errors, timeouts },
    latencies,
    statuses,
  };
}

process.on('message', async (job) => {
  try {
    const run = job.rate ? paced : flat;
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
