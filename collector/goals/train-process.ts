/**
 * The child process of a training (goals/trainer.ts): it keeps each visitor's history and on
 * `fit` computes the examples, fits and judges the model (goals/train.ts) and answers the result.
 * On a SQLite file it also reads the events itself (`read`), on a read-only connection of its
 * own, so the collector's thread does nothing for a training but start it and store the result;
 * otherwise the collector's thread reads the pages and passes them on (`page`, `traits`).
 * A process rather than a worker thread: every thread of it (V8's garbage-collection helpers too)
 * runs at the lowest priority (started in Linux's idle class where allowed, goals/trainer.ts, and
 * at nice 19), and its memory (~1 GB at 100k visitors) is not the collector's.
 * Built by build.mjs into dist/goals-trainer.mjs; it ends when the collector disconnects.
 */
import { readdirSync } from 'node:fs';
import { setPriority } from 'node:os';
import Database from 'better-sqlite3';
import type { EngineConfig } from '../engine/index.ts';
import { trainingEventPages } from '../storage/sqlite/goals.ts';
import type { FeatureEvent } from './features.ts';
import type { Goal } from './goal.ts';
import { type ReadBounds, ReadTimeout, readHistories } from './read-events.ts';
import { train } from './train.ts';

export type TrainerRequest =
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
export interface TrainerRead {
  rows: number;
  visitors: number;
  truncated: boolean;
}

/**
 * The lowest CPU priority for every thread of this process: on a machine with few cores the
 * collector, serving reads and ingest, is scheduled first whenever it has work, and the training
 * takes what is left. On Linux a nice value is a thread's own and a new thread takes its
 * creator's, so the threads V8 started before this line are set one by one (their ids in
 * /proc/self/task) and those started later inherit. Elsewhere the call sets the process. Where
 * the platform refuses, the training runs at the normal priority.
 */
function lowestPriority(): void {
  let threads: number[] = [0];
  try {
    threads = readdirSync('/proc/self/task').map(Number);
  } catch {
    // no /proc: the process's priority
  }
  for (const t of threads)
    try {
      setPriority(t, 19);
    } catch {
      // not permitted here: no harm done
    }
}

const send = (a: unknown) => process.send?.(a);

const histories = new Map<string, FeatureEvent[]>();
const traits = new Map<string, Record<string, unknown>>();

/**
 * One copy of each event type and category kept: the database (and the IPC channel, on
 * PostgreSQL) hands over a new string with every row, and a site has few of them against its
 * millions of rows: shared, they leave this process's heap smaller and its garbage collection
 * shorter. Bounded: past MAX_INTERNED names the rest are kept as they came.
 */
const MAX_INTERNED = 10_000;
const interned = new Map<string, string>();
function intern(s: string): string {
  const known = interned.get(s);
  if (known !== undefined) return known;
  if (interned.size < MAX_INTERNED) interned.set(s, s);
  return s;
}

function addPage(visitors: readonly string[], events: readonly FeatureEvent[][]): void {
  visitors.forEach((v, i) => {
    const page = events[i] ?? [];
    for (const e of page) {
      e.type = intern(e.type);
      if (e.category !== null) e.category = intern(e.category);
    }
    const known = histories.get(v);
    if (known) known.push(...page);
    else histories.set(v, page);
  });
}

/** The site's events (and the traits of its visitors) from the file, read-only. */
async function readFile(m: Extract<TrainerRequest, { kind: 'read' }>): Promise<TrainerRead> {
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

async function answer(m: TrainerRequest): Promise<void> {
  try {
    if (m.kind === 'page') addPage(m.visitors, m.events);
    else if (m.kind === 'traits') for (const [v, t] of m.traits) traits.set(v, t);
    else if (m.kind === 'read') send({ ok: true, read: await readFile(m) });
    else {
      const result = train({
        goal: m.goal,
        histories,
        traits,
        end: m.end,
        cutoffs: m.cutoffs,
        engine: m.engine,
      });
      send({ ok: true, result });
    }
  } catch (err) {
    send({ ok: false, error: String(err), timeout: err instanceof ReadTimeout });
  }
}

// Run as the collector's child only (imported for its types elsewhere).
if (process.send) {
  lowestPriority();
  process.on('message', (m: TrainerRequest) => void answer(m));
  // The collector stopped, or ended the training: nothing left to answer.
  process.on('disconnect', () => process.exit(0));
}
