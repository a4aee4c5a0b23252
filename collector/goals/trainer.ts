/**
 * A training of one goal, from the database to the stored model (docs/goals.md): the site's
 * events are read page by page in `(visitor, ts)` order, each page handed to a worker thread
 * (goals/train-worker.ts) that keeps the histories and fits the model, and the result is stored
 * in `goal_models` in one write. Bounded (GOAL_LIMITS): the rows read, the visitors kept (past
 * either the training goes on with what it has and says so), its time, and one training at a
 * time per process.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { GOAL_LIMITS } from '../../shared/limits.ts';
import type { SiteConfig } from '../config/config.ts';
import type { EngineConfig } from '../engine/index.ts';
import type { Storage, TrainingEvent } from '../storage/contract.ts';
import type { FeatureEvent } from './features.ts';
import { type Goal, goalKey } from './goal.ts';
import { type TrainingReport, type TrainingResult, train } from './train.ts';
import type { WorkerRequest } from './train-worker.ts';

/**
 * Events read per page: a page's read and hand-over hold the collector's thread (a few ms at this
 * size; 20–50 ms at 5,000, which showed in the p99 of reads served meanwhile).
 */
const PAGE = 1_000;

export class TrainingBusy extends Error {
  override name = 'TrainingBusy';
}
export class TrainingTimeout extends Error {
  override name = 'TrainingTimeout';
}

let running = 0;

/** What a stored training report adds: how much was read, and whether a bound cut it short. */
export interface StoredReport extends TrainingReport {
  rowsRead: number;
  visitors: number;
  /** A bound stopped the read: the model saw only the visitors read first. */
  truncated: boolean;
  /** Time reading the events, and in all (the fit is the rest). */
  readMs: number;
  totalMs: number;
}

export interface TrainOptions {
  /** Epoch ms of the training: the data runs to here (default: the clock). */
  now: number;
  /** Cut-offs (default: train.ts's). */
  cutoffs?: number | undefined;
  /** Fit on this thread instead of a worker (tests of the pure parts; the CLI may). */
  inline?: boolean | undefined;
  rows?: number | undefined;
  profiles?: number | undefined;
  timeoutMs?: number | undefined;
}

/** The worker's file: beside the bundle (dist/), or the built one when running from sources. */
function workerFile(): URL {
  const beside = new URL('./goals-worker.mjs', import.meta.url);
  if (existsSync(fileURLToPath(beside))) return beside;
  const built = new URL('../../dist/goals-worker.mjs', import.meta.url);
  if (existsSync(fileURLToPath(built))) return built;
  throw new Error('the training worker is not built: run `node build.mjs` (dist/goals-worker.mjs)');
}

interface Fitter {
  send(m: WorkerRequest): void;
  fit(
    goal: Goal,
    end: number,
    cutoffs: number | undefined,
    engine: EngineConfig,
  ): Promise<TrainingResult>;
  stop(): void;
}

function workerFitter(timeoutMs: number): Fitter {
  // No execArgv of the parent: under --cpu-prof the worker would write over the main thread's profile.
  const worker = new Worker(workerFile(), { execArgv: [] });
  worker.unref();
  let failed: Error | null = null;
  worker.on('error', (err) => {
    failed = err;
  });
  return {
    send(m) {
      if (failed) throw failed;
      worker.postMessage(m);
    },
    fit(goal, end, cutoffs, engine) {
      return new Promise((resolve, reject) => {
        if (failed) return reject(failed);
        const timer = setTimeout(
          () => reject(new TrainingTimeout(`the training took longer than ${timeoutMs} ms`)),
          timeoutMs,
        );
        timer.unref();
        worker.once(
          'message',
          (m: { ok: true; result: TrainingResult } | { ok: false; error: string }) => {
            clearTimeout(timer);
            if (m.ok) resolve(m.result);
            else reject(new Error(m.error));
          },
        );
        worker.once('error', (err) => {
          clearTimeout(timer);
          reject(err);
        });
        worker.postMessage({ kind: 'fit', goal, end, cutoffs, engine } satisfies WorkerRequest);
      });
    },
    stop() {
      void worker.terminate();
    },
  };
}

function inlineFitter(): Fitter {
  const histories = new Map<string, FeatureEvent[]>();
  const traits = new Map<string, Record<string, unknown>>();
  return {
    send(m) {
      if (m.kind === 'page')
        m.visitors.forEach((v, i) => {
          histories.set(v, [...(histories.get(v) ?? []), ...(m.events[i] ?? [])]);
        });
      else if (m.kind === 'traits') for (const [v, t] of m.traits) traits.set(v, t);
    },
    async fit(goal, end, cutoffs, engine) {
      return train({ goal, histories, traits, end, cutoffs, engine });
    },
    stop() {},
  };
}

const featureEvent = (e: TrainingEvent): FeatureEvent => ({
  ts: e.ts,
  type: e.type,
  category: e.category,
  value: e.value,
  props: e.props,
  utm: e.utm as Record<string, string | undefined> | null,
});

/**
 * Trains `goal` (named `name`) of `site` on the stored events and stores the model (or the
 * fallback and why). Rejects with TrainingBusy when another training runs in this process, and
 * TrainingTimeout past the time bound (nothing stored).
 */
export async function trainGoal(
  storage: Storage,
  site: SiteConfig,
  name: string,
  goal: Goal,
  opts: TrainOptions,
): Promise<StoredReport> {
  if (running >= GOAL_LIMITS.trainingsAtOnce) throw new TrainingBusy('another training is running');
  running++;
  const started = performance.now();
  const timeoutMs = opts.timeoutMs ?? GOAL_LIMITS.trainMs;
  const maxRows = opts.rows ?? GOAL_LIMITS.trainRows;
  const maxProfiles = opts.profiles ?? GOAL_LIMITS.trainProfiles;
  const fitter = opts.inline ? inlineFitter() : workerFitter(timeoutMs);
  try {
    let cursor: { visitor: string; ts: number; id: string } | null = null;
    let rows = 0;
    let truncated = false;
    const visitors = new Set<string>();
    for (;;) {
      if (performance.now() - started > timeoutMs)
        throw new TrainingTimeout(`reading the events took longer than ${timeoutMs} ms`);
      const page = await storage.trainingEvents(site.id, cursor, Math.min(PAGE, maxRows - rows));
      const last = page[page.length - 1];
      if (last === undefined) break;
      const ids: string[] = [];
      const events: FeatureEvent[][] = [];
      for (const e of page) {
        if (!visitors.has(e.visitor)) {
          if (visitors.size >= maxProfiles) {
            truncated = true;
            break;
          }
          visitors.add(e.visitor);
        }
        if (ids[ids.length - 1] !== e.visitor) {
          ids.push(e.visitor);
          events.push([]);
        }
        events[events.length - 1]?.push(featureEvent(e));
      }
      fitter.send({ kind: 'page', visitors: ids, events });
      rows += page.length;
      cursor = { visitor: last.visitor, ts: last.ts, id: last.id };
      if (truncated) break;
      if (rows >= maxRows) {
        truncated = true;
        break;
      }
      // A turn for requests between pages (SQLite reads on this thread).
      await new Promise((resolve) => setImmediate(resolve));
    }
    if (goal.traits && goal.traits.length > 0) {
      const traits: [string, Record<string, unknown>][] = [];
      for (const v of visitors) {
        const meta = await storage.identity.meta(site.id, v);
        if (meta) traits.push([v, meta.traits]);
      }
      fitter.send({ kind: 'traits', traits });
    }
    const readMs = performance.now() - started;
    // The site's thresholds without its compiled rules (functions cannot cross to the worker; the
    // heuristic reads none).
    // What crosses to the worker: thresholds only (compiled rules and served models stay here).
    const engine: EngineConfig = {
      ...site.engine,
      rules: [],
      windowProps: [],
      quiet: undefined,
      goals: undefined,
    };
    const result = await fitter.fit(goal, opts.now, opts.cutoffs, engine);
    const report: StoredReport = {
      ...result.report,
      rowsRead: rows,
      visitors: visitors.size,
      truncated,
      readMs: Math.round(readMs),
      totalMs: Math.round(performance.now() - started),
    };
    await storage.write((tx) =>
      tx.goals.saveModel(site.id, {
        goal: name,
        definition: goalKey(goal),
        trained: opts.now,
        status: result.report.status,
        model: result.model === null ? null : JSON.stringify(result.model),
        evaluation: JSON.stringify(report),
      }),
    );
    return report;
  } finally {
    fitter.stop();
    running--;
  }
}
