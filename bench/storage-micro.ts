/**
 * Microbenchmarks of the storage contract on SQLite, no HTTP: what the async layer costs on the
 * two hot paths. `npx tsx bench/storage-micro.ts [--n 20000]` prints µs per operation of
 * - `segmentInputs` reads (cache hits, and with the cache off: one statement each),
 * - single-event ingests through `storage.write`, one at a time (each its own group commit) and
 *   200 in flight (groups of up to 200).
 * A temporary database file, WAL, the collector's pragmas; the best of five runs per phase, in
 * wall time and in CPU time of the process (steadier on a shared machine; a WAL commit under
 * synchronous=NORMAL does not wait for the disk).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { DEFAULT_ENGINE } from '../collector/engine/index.ts';
import type { NewEvent, Storage } from '../collector/storage/contract.ts';
import { openStorage } from '../collector/storage/open.ts';

const { values } = parseArgs({ options: { n: { type: 'string', default: '20000' } } });
const N = Number(values.n);
const T0 = Date.UTC(2026, 10, 1, 12);
const dir = mkdtempSync(join(tmpdir(), 'microseg-micro-'));

let id = 0;
const event = (): NewEvent => ({ id: `e${++id}`, type: 'page_view', ts: T0, category: 'cameras' });
const ingest = (s: Storage, visitor: string) =>
  s.write((tx) => tx.ingest('s', visitor, [event()], DEFAULT_ENGINE, T0));

/** Runs `run` five times (each on visitors of its own, so profiles do not grow run over run). */
let runs = 0;
async function best(name: string, run: (prefix: string) => Promise<void>) {
  let wall = Infinity;
  let cpu = Infinity;
  for (let r = 0; r < 5; r++) {
    const t = performance.now();
    const c = process.cpuUsage();
    await run(`r${++runs}-`);
    const used = process.cpuUsage(c);
    cpu = Math.min(cpu, (used.user + used.system) / 1000);
    wall = Math.min(wall, performance.now() - t);
  }
  const us = (ms: number) => `${((ms * 1000) / N).toFixed(2)} µs/op`;
  console.log(`${name.padEnd(44)} wall ${us(wall)}, cpu ${us(cpu)}`);
}

async function phases(cache: number | undefined, label: string) {
  const storage = await openStorage(join(dir, `${label}.db`), { profileCache: cache });
  // 1,000 visitors with a profile each; reads cycle over them.
  for (let v = 0; v < 1000; v += 100)
    await Promise.all(Array.from({ length: 100 }, (_, k) => ingest(storage, `v${v + k}`)));
  await best(`segmentInputs, ${label}`, async () => {
    for (let i = 0; i < N; i++) await storage.segmentInputs('s', `v${i % 1000}`, T0);
  });
  if (cache === undefined) {
    // Each run on 1,000 visitors of its own: 20 events each, as many for every run and phase.
    await best('ingest 1 event via write, one at a time', async (p) => {
      for (let i = 0; i < N; i++) await ingest(storage, `${p}${i % 1000}`);
    });
    await best('ingest 1 event via write, 200 in flight', async (p) => {
      for (let i = 0; i < N; i += 200)
        await Promise.all(
          Array.from({ length: 200 }, (_, k) => ingest(storage, `${p}${(i + k) % 1000}`)),
        );
    });
  }
  await storage.close();
}

try {
  await phases(undefined, 'read cache on');
  await phases(0, 'read cache off');
} finally {
  rmSync(dir, { recursive: true, force: true });
}
