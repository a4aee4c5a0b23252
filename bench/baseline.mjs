#!/usr/bin/env node
/**
 * The baselines: the HTTP stack with no work behind it, on the same package versions the collector
 * runs. `POST` reads the body (as the collector must) and answers 204; `GET` answers a JSON of a
 * segment's shape and size, serialized per request.
 *   STACK=hono: a bare Hono app on @hono/node-server, the body read with `c.req.text()`;
 *   STACK=node: a bare `node:http` server, the runtime's floor under any framework.
 * Usage: STACK=hono|node PORT=N HOST=127.0.0.1 node bench/baseline.mjs
 */
import { createServer } from 'node:http';
import { serve } from '@hono/node-server';
import { Hono } from 'hono';

const segment = {
  site: 'demo',
  visitor: 'V1StGXR8_Z5jdHi6B-myT',
  known: false,
  segment: 'newbie:cameras:hot',
  lifecycle: 'newbie',
  category: 'cameras',
  engagement: 'hot',
  affinity: { cameras: 0.72, sports: 0.28 },
  cooldown: false,
  rfm: null,
  intent: 'moderately_likely',
  segments: [],
  updated: 1732262400000,
};

const port = Number(process.env.PORT ?? 0);
const hostname = process.env.HOST ?? '127.0.0.1';
const stack = process.env.STACK ?? 'hono';
const listening = (p) => console.log(`baseline (${stack}) on http://${hostname}:${p}`);

if (stack === 'hono') {
  const app = new Hono();
  app.post('*', async (c) => {
    await c.req.text();
    return c.body(null, 204);
  });
  app.get('*', (c) => c.json(segment));
  serve({ fetch: app.fetch, port, hostname }, (info) => listening(info.port));
} else if (stack === 'node') {
  const server = createServer((req, res) => {
    if (req.method === 'POST') {
      const chunks = [];
      req.on('data', (c) => chunks.push(c));
      req.on('end', () => {
        Buffer.concat(chunks).toString('utf8');
        res.writeHead(204).end();
      });
      return;
    }
    const body = JSON.stringify(segment);
    res
      .writeHead(200, {
        'content-type': 'application/json',
        'content-length': Buffer.byteLength(body),
      })
      .end(body);
  });
  server.listen(port, hostname, () => listening(server.address().port));
} else {
  console.error(`baseline: unknown STACK "${stack}" (hono or node)`);
  process.exit(2);
}

// A clean exit on SIGTERM, so `node --cpu-prof` writes its profile.
process.once('SIGTERM', () => process.exit(0));
