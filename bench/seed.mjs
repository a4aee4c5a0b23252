#!/usr/bin/env node
/**
 * Seeds a collector database with `--events N` stored events, fast, through the storage layer
 * itself (`openStorage().ingest`, the same transaction the collector runs per batch), so every
 * profile is exactly what the collector would have built from these events. Many visitors'
 * batches share one outer transaction (SAVEPOINTs inside) to skip per-batch commits.
 *
 * Usage: node bench/seed.mjs --db FILE --events N [--bundle FILE]
 * Prints one JSON line: {events, visitors, seconds}.
 */
import { parseArgs } from 'node:util';
import { pathToFileURL } from 'node:url';
import { idGenerator, prng, seededHistory, SITE, visitorId, visitorsFor } from './lib/workload.mjs';
import { buildStorageBundle, STORAGE_BUNDLE } from './lib/storage-bundle.mjs';

const { values } = parseArgs({
  options: { db: { type: 'string' }, events: { type: 'string' }, bundle: { type: 'string' } },
});
if (!values.db || !values.events) {
  console.error('usage: node bench/seed.mjs --db FILE --events N [--bundle FILE]');
  process.exit(2);
}
const total = Number(values.events);
const bundle = values.bundle ?? (await buildStorageBundle(), STORAGE_BUNDLE);
const { openStorage, loadConfig } = await import(pathToFileURL(bundle).href);

const started = performance.now();
const engine = loadConfig(undefined).sites.get(SITE).engine;
const storage = openStorage(values.db);
const visitors = visitorsFor(total);
const nextId = idGenerator();
const rnd = prng(42);
const now = Date.now();
const PER_COMMIT = 2_000; // visitors per outer transaction
let events = 0;
const chunk = storage.db.$client.transaction((from, to) => {
  for (let i = from; i < to; i++) {
    const history = seededHistory(nextId, rnd, i, now);
    events += storage.ingest(SITE, visitorId(i), history, engine, now).accepted;
  }
});
for (let i = 0; i < visitors; i += PER_COMMIT) chunk(i, Math.min(visitors, i + PER_COMMIT));
storage.db.$client.pragma('wal_checkpoint(TRUNCATE)');
storage.close();
console.log(JSON.stringify({ events, visitors, seconds: (performance.now() - started) / 1000 }));
