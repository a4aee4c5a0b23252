/**
 * The worker thread of a training (goals/trainer.ts): it keeps each visitor's history and on
 * `fit` computes the examples, fits and judges the model (goals/train.ts) and answers the result.
 * On a SQLite file it also reads the events itself (`read`), on a read-only connection of its
 * own, so the collector's thread does nothing for a training but start it and store the result;
 * otherwise the collector's thread reads the pages and passes them on (`page`, `traits`).
 * Built by build.mjs into dist/goals-worker.mjs.
 */
import { setPriority } from 'node:os';
import { parentPort } from 'node:worker_threads';
import Database from 'better-sqlite3';
import type { EngineConfig } from '../engine/index.ts';
import { trainingEventPages } from '../storage/sqlite/goals.ts';
import type { FeatureEvent } from './features.ts';
import type { Goal } from './goal.ts';
import { type ReadBounds, ReadTimeout, readHistories } from './read-events.ts';
import { train } from './train.ts';

export type WorkerRequest =
  | { kind: 'page'; visitors: string[]; events: FeatureEvent[][] }
  | { kind: 'traits'; traits: [string, Record<string, unknown>][] }
  | { kind: 'read'; file: string; site: string; bounds: ReadBounds; traits: boolean }
  | {
      kind: 'fit';
      goal: Goal;
      end: number;
      cutoffs?: number | undefined;
      engine?: EngineConfig | undefined;
    };

/** What a `read` answers: the training's read figures. */
export interface WorkerRead {
  rows: number;
  visitors: number;
  truncated: boolean;
}

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

function addPage(visitors: readonly string[], events: readonly FeatureEvent[][]): void {
  visitors.forEach((v, i) => {
    const page = events[i] ?? [];
    const known = histories.get(v);
    if (known) known.push(...page);
    else histories.set(v, page);
  });
}

/** The site's events (and the traits of its visitors) from the file, read-only. */
async function readFile(m: Extract<WorkerRequest, { kind: 'read' }>): Promise<WorkerRead> {
  const db = new Database(m.file, { readonly: true, fileMustExist: true });
  try {
    const page = trainingEventPages(db);
    const read = await readHistories(
      (after, limit) => page(m.site, after, limit),
      m.bounds,
      addPage,
    );
    if (m.traits) {
      const rows = db
        .prepare<[string], { visitor: string; traits: string | null }>(
          'SELECT visitor, traits FROM profile_meta WHERE site = ?',
        )
        .iterate(m.site);
      for (const r of rows)
        if (r.traits !== null && read.visitors.has(r.visitor))
          traits.set(r.visitor, JSON.parse(r.traits) as Record<string, unknown>);
    }
    return { rows: read.rows, visitors: read.visitors.size, truncated: read.truncated };
  } finally {
    db.close();
  }
}

parentPort?.on('message', async (m: WorkerRequest) => {
  try {
    if (m.kind === 'page') addPage(m.visitors, m.events);
    else if (m.kind === 'traits') for (const [v, t] of m.traits) traits.set(v, t);
    else if (m.kind === 'read') parentPort?.postMessage({ ok: true, read: await readFile(m) });
    else {
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
    parentPort?.postMessage({ ok: false, error: String(err), timeout: err instanceof ReadTimeout });
  }
});
