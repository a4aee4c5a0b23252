import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { startCollector, stopped } from '../collector-process.ts';
import { tempDir } from '../helpers.ts';

/** Resident memory of a process, in MB (Linux). */
function rssMb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

const SECONDS = Number(process.env.SOAK_SECONDS ?? 6);

describe('soak', () => {
  const tmp = tempDir();
  afterAll(() => tmp.cleanup());

  it(`memory stays flat under ${SECONDS} s of mixed load (new visitors, reads, bad input)`, {
    timeout: SECONDS * 1000 + 30_000,
  }, async () => {
    // A small old space makes a leak fail fast (out of memory) instead of hiding behind V8's
    // lazy collection on a 24 GB machine, where an idle heap grows long before a major GC.
    const collector = await startCollector({
      MICROSEG_DB: join(tmp.dir, 'soak.db'),
      NODE_OPTIONS: process.env.SOAK_NODE_OPTIONS ?? '--max-old-space-size=64',
    });
    const pid = collector.child.pid!;
    const samples: number[] = [];
    const sampler = setInterval(() => samples.push(rssMb(pid)), 200);
    const until = Date.now() + SECONDS * 1000;
    let requests = 0;
    const worker = async (w: number) => {
      for (let i = 0; Date.now() < until; i++) {
        const visitor = `s${w}x${i % 500}`;
        const r = i % 10;
        let res: Response;
        if (r < 7) {
          const events = Array.from({ length: 3 }, (_, k) => ({
            id: `s${w}i${i}k${k}`,
            type: 'page_view',
            ts: Date.now(),
            category: ['cameras', 'sports', 'books'][k % 3],
          }));
          res = await fetch(`${collector.url}/v1/collect`, {
            method: 'POST',
            body: JSON.stringify({ site: 'demo', visitor, events }),
          });
        } else if (r < 9) {
          res = await fetch(`${collector.url}/v1/segment?site=demo&visitor=${visitor}`);
        } else {
          res = await fetch(`${collector.url}/v1/collect`, {
            method: 'POST',
            body: '{"site":"demo","visitor":"x","events":[{"id":1}]}',
          });
        }
        await res.arrayBuffer();
        requests++;
      }
    };
    await Promise.all(Array.from({ length: 12 }, (_, w) => worker(w)));
    clearInterval(sampler);
    expect(collector.child.exitCode, collector.output()).toBeNull();
    collector.child.kill('SIGTERM');
    expect(await stopped(collector.child)).toBe(0);

    const q = Math.floor(samples.length / 4);
    const early = Math.max(...samples.slice(q, 2 * q));
    const late = Math.max(...samples.slice(3 * q));
    const peak = Math.max(...samples);
    console.log(
      `soak: ${requests} requests in ${SECONDS} s, RSS ${samples[0]!.toFixed(0)} → peak ${peak.toFixed(0)} MB (2nd quarter max ${early.toFixed(0)}, last quarter max ${late.toFixed(0)})`,
    );
    // Load happened (how much depends on the machine: throughput belongs in `npm run bench`).
    expect(requests).toBeGreaterThan(100);
    expect(peak).toBeLessThan(200);
    // Flat: the last quarter grows at most a little over the second.
    expect(late - early).toBeLessThan(25);
  });
});
