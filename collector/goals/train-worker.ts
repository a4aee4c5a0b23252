/**
 * The worker thread of a training (goals/trainer.ts): it receives the site's events page by page,
 * keeps each visitor's history, and on `fit` computes the examples, fits and judges the model
 * (goals/train.ts) and answers the result. The collector's thread only reads pages and passes
 * them on, so ingest and segment reads keep their latency while a model is fitted.
 * Built by build.mjs into dist/goals-worker.mjs.
 */
import { setPriority } from 'node:os';
import { parentPort } from 'node:worker_threads';
import type { EngineConfig } from '../engine/index.ts';
import type { FeatureEvent } from './features.ts';
import type { Goal } from './goal.ts';
import { train } from './train.ts';

export type WorkerRequest =
  | { kind: 'page'; visitors: string[]; events: FeatureEvent[][] }
  | { kind: 'traits'; traits: [string, Record<string, unknown>][] }
  | {
      kind: 'fit';
      goal: Goal;
      end: number;
      cutoffs?: number | undefined;
      engine?: EngineConfig | undefined;
    };

// The lowest CPU priority for this thread alone (on Linux a thread's nice value is its own; pid 0
// is the calling thread): on a machine with few cores the collector's thread, serving reads and
// ingest, is scheduled first whenever it has work, and the fit takes what is left. Where the
// platform refuses, the training runs at the normal priority.
try {
  setPriority(19);
} catch {
  // not permitted here: no harm done
}

const histories = new Map<string, FeatureEvent[]>();
const traits = new Map<string, Record<string, unknown>>();

parentPort?.on('message', (m: WorkerRequest) => {
  try {
    if (m.kind === 'page') {
      m.visitors.forEach((v, i) => {
        const events = m.events[i] ?? [];
        const known = histories.get(v);
        if (known) known.push(...events);
        else histories.set(v, events);
      });
    } else if (m.kind === 'traits') {
      for (const [v, t] of m.traits) traits.set(v, t);
    } else {
      const result = train({
        goal: m.goal,
        histories,
        traits,
        end: m.end,
        cutoffs: m.cutoffs,
        engine: m.engine,
      });
      parentPort?.postMessage({ ok: true, result });
    }
  } catch (err) {
    parentPort?.postMessage({ ok: false, error: String(err) });
  }
});
