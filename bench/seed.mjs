#!/usr/bin/env node
/**
 * Seeds a collector database with `--events N` stored events, fast, through the storage layer
 * itself (`tx.ingest` in a `storage.write` job, as the collector stores a batch), so every
 * profile is exactly what the collector would have built from these events. Many visitors'
 * batches share one write job (one transaction) to skip per-batch commits.
 *
 * Without --visitors, visitors get 1–20 events each (`eventsOfVisitor`), as many visitors as the
 * total needs: a short history per visitor. With --visitors N the events are spread evenly over
 * exactly N visitors (the same first N ids), a long history per visitor, ingested in browser-sized
 * batches (LIMITS.batchEvents) as a returning visitor's snippet would have sent them.
 *
 * Usage: node bench/seed.mjs --db FILE|URL --events N [--visitors N] [--days D] [--bundle FILE]
 * Prints one JSON line: {events, visitors, seconds}.
 */
import { parseArgs } from 'node:util';
import { pathToFileURL } from 'node:url';
import {
  eventsOfVisitor,
  eventsSpread,
  idGenerator,
  prng,
  seededHistory,
  SITE,
  visitorId,
  visitorsFor,
} from './lib/workload.mjs';
import { buildStorageBundle, STORAGE_BUNDLE } from './lib/storage-bundle.mjs';

const USAGE =
  'usage: node bench/seed.mjs --db FILE|URL --events N [--visitors N] [--days D] [--bundle FILE]';
const { values } = parseArgs({
  options: {
    db: { type: 'string' },
    events: { type: 'string' },
    visitors: { type: 'string' },
    days: { type: 'string' },
    bundle: { type: 'string' },
  },
});
const positive = (v) => v === undefined || (Number.isInteger(Number(v)) && Number(v) > 0);
if (
  !values.db ||
  !values.events ||
  !positive(values.events) ||
  !positive(values.visitors) ||
  !positive(values.days)
) {
  console.error(USAGE);
  process.exit(2);
}
const total = Number(values.events);
const days = Number(values.days ?? 7);
let bundle = values.bundle;
if (bundle === undefined) {
  await buildStorageBundle();
  bundle = STORAGE_BUNDLE;
}
const { openStorage, sqliteHandle, loadConfig, LIMITS, rollupDue } = await import(
  pathToFileURL(bundle).href
);

const started = performance.now();
const engine = loadConfig(undefined).sites.get(SITE).engine;
const storage = await openStorage(values.db);
const visitors = values.visitors ? Number(values.visitors) : visitorsFor(total);
const eventsOf = values.visitors ? (i) => eventsSpread(i, total, visitors) : eventsOfVisitor;
const nextId = idGenerator();
const rnd = prng(42);
const now = Date.now();
// Visitors per write job: about 20k events each, whatever the history per visitor.
const perCommit = Math.max(1, Math.floor(20_000 / Math.max(1, Math.round(total / visitors))));
// The histories are made outside the job: a job may run again (contract.ts), the same rows each time.
const chunk = (from, to) => {
  const batches = [];
  for (let i = from; i < to; i++) {
    const history = seededHistory(nextId, rnd, i, now, eventsOf(i), days);
    for (let k = 0; k < history.length; k += LIMITS.batchEvents)
      batches.push([visitorId(i), history.slice(k, k + LIMITS.batchEvents)]);
  }
  return storage.write(async (tx) => {
    let accepted = 0;
    for (const [visitor, batch] of batches)
      accepted += (await tx.ingest(SITE, visitor, batch, engine, now)).accepted;
    return accepted;
  });
};
let events = 0;
for (let i = 0; i < visitors; i += perCommit)
  events += await chunk(i, Math.min(visitors, i + perCommit));
// The stats rolled up, as a collector that has run on these events keeps them: else the
// collector's first minutes under load would be its catch-up (seconds at 1M events).
await rollupDue(storage, SITE, Date.now(), Number.POSITIVE_INFINITY);
// A SQLite file starts the measurement with its WAL folded in; PostgreSQL checkpoints itself.
if (storage.kind === 'sqlite') sqliteHandle(storage).pragma('wal_checkpoint(TRUNCATE)');
await storage.close();
console.log(JSON.stringify({ events, visitors, seconds: (performance.now() - started) / 1000 }));
