#!/usr/bin/env node
/**
 * The baseline: a bare Hono app on @hono/node-server, i.e. the HTTP stack with no work behind it.
 * `POST` reads the body (as the collector must) and answers 204; `GET` answers a small JSON of a
 * segment's shape and size. Usage: PORT=N HOST=127.0.0.1 node bench/baseline.mjs
 */
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

const app = new Hono();
app.post('*', async (c) => {
  await c.req.text();
  return c.body(null, 204);
});
app.get('*', (c) => c.json(segment));

serve(
  {
    fetch: app.fetch,
    port: Number(process.env.PORT ?? 0),
    hostname: process.env.HOST ?? '127.0.0.1',
  },
  (info) => {
    console.log(`baseline on http://127.0.0.1:${info.port}`);
  },
);

// A clean exit on SIGTERM, so `node --cpu-prof` writes its profile.
process.once('SIGTERM', () => process.exit(0));
