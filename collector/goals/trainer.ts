/**
 * A training of one goal, from the database to the stored model (docs/goals.md): the site's
 * events are read page by page in `(visitor, ts)` order into a child process at the lowest CPU
 * priority (goals/train-process.ts) that keeps the histories and fits the model, and the result is
 * stored in `goal_models` in one write. On a SQLite file the child reads them itself on a
 * read-only connection; on PostgreSQL (or an in-memory database) this thread reads the pages and
 * hands them over. Bounded (GOAL_LIMITS): the rows read, the visitors kept (past either the
 * training goes on with what it has and says so), its time, and one training at a time per
 * process.
 */
import { type ChildProcess, fork, type SpawnOptions, spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { setPriority } from 'node:os';
import { fileURLToPath } from 'node:url';
import { GOAL_LIMITS } from '../../shared/limits.ts';
import type { SiteConfig } from '../config/config.ts';
import type { EngineConfig } from '../engine/index.ts';
import type { Storage } from '../storage/contract.ts';
import type { FeatureEvent } from './features.ts';
import { type Goal, goalKey } from './goal.ts';
import { type TrainingReport, type TrainingResult, train } from './train.ts';
import { type ReadBounds, ReadTimeout, readHistories } from './read-events.ts';
import type { TrainerRead, TrainerRequest } from './train-process.ts';

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
  /** Fit on this thread instead of a child process (tests of the pure parts; the CLI may). */
  inline?: boolean | undefined;
  rows?: number | undefined;
  profiles?: number | undefined;
  timeoutMs?: number | undefined;
}

/** The child's file: beside the bundle (dist/), or the built one when running from sources. */
function trainerFile(): string {
  const beside = fileURLToPath(new URL('./goals-trainer.mjs', import.meta.url));
  if (existsSync(beside)) return beside;
  const built = fileURLToPath(new URL('../../dist/goals-trainer.mjs', import.meta.url));
  if (existsSync(built)) return built;
  throw new Error(
    'the training process is not built: run `node build.mjs` (dist/goals-trainer.mjs)',
  );
}

/** The running training's child process (tests look at its threads' priority). */
let child: ChildProcess | null = null;
export function trainingProcess(): ChildProcess | null {
  return child;
}

interface Fitter {
  send(m: TrainerRequest): void;
  /** Reads the events of `site` from the SQLite file in the child (a process fitter only). */
  read?(
    file: string,
    site: string,
    bounds: ReadBounds,
    traits: boolean,
    timeoutMs: number,
  ): Promise<TrainerRead>;
  fit(
    goal: Goal,
    end: number,
    cutoffs: number | undefined,
    engine: EngineConfig,
    timeoutMs: number,
  ): Promise<TrainingResult>;
  stop(): void;
}

type Answer =
  | { ok: true; result: TrainingResult }
  | { ok: true; read: TrainerRead }
  | { ok: false; error: string; timeout?: boolean };

/** util-linux's `chrt`, on Linux (Debian's essential set has it). */
const CHRT = '/usr/bin/chrt';
let idleClass: boolean | undefined;

/**
 * Whether the child can run in Linux's idle scheduling class (SCHED_IDLE, every thread): a
 * runnable collector thread then takes the core from it at once, where at nice 19 it may wait
 * for the fit's time slice to end. Tried once per process: a container may refuse it.
 */
function canIdle(): boolean {
  idleClass ??=
    process.platform === 'linux' &&
    existsSync(CHRT) &&
    // `true`, not node: a few ms on the collector's thread, once.
    spawnSync(CHRT, ['--idle', '0', 'true'], { stdio: 'ignore' }).status === 0;
  return idleClass;
}

function processFitter(): Fitter {
  // No inspector or loader flags of the collector's; structured clone for the pages and results.
  const options: SpawnOptions = {
    serialization: 'advanced',
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  };
  const proc = canIdle()
    ? spawn(CHRT, ['--idle', '0', process.execPath, trainerFile()], options)
    : fork(trainerFile(), [], { execArgv: [], ...options });
  child = proc;
  // Its main thread at once, so the threads Node starts next inherit the priority (the child then
  // sets any it started before this); refused or not, the child does it too. In the idle class
  // the nice value is a second line: it counts only if the class is left.
  if (proc.pid !== undefined)
    try {
      setPriority(proc.pid, 19);
    } catch {
      // not permitted here
    }
  // Neither the child nor its channel holds the collector's event loop open, but while an answer
  // is awaited (`ask`), as any awaited I/O would (the CLI's `train` has nothing else running).
  proc.unref();
  proc.channel?.unref();
  let failed: Error | null = null;
  const fail = (err: Error) => {
    failed ??= err;
  };
  proc.on('error', fail);
  proc.on('exit', (code, signal) =>
    fail(new Error(`the training process ended (${signal ?? `exit code ${code}`})`)),
  );
  /** Sends `m` and waits for the child's answer, at most `timeoutMs`. */
  const ask = (m: TrainerRequest, timeoutMs: number, what: string) =>
    new Promise<Answer & { ok: true }>((resolve, reject) => {
      if (failed) return reject(failed);
      const done = () => {
        proc.channel?.unref();
        clearTimeout(timer);
        proc.off('message', onMessage);
        proc.off('exit', onExit);
        proc.off('error', onError);
      };
      const onMessage = (a: Answer) => {
        done();
        if (a.ok) resolve(a);
        else reject(a.timeout ? new TrainingTimeout(a.error) : new Error(a.error));
      };
      const onError = (err: Error) => {
        done();
        reject(err);
      };
      const onExit = () => {
        done();
        reject(failed ?? new Error('the training process ended'));
      };
      const timer = setTimeout(() => {
        done();
        reject(new TrainingTimeout(`${what} took longer than the training's ${timeoutMs} ms left`));
      }, timeoutMs);
      timer.unref();
      proc.on('message', onMessage);
      proc.on('exit', onExit);
      proc.on('error', onError);
      proc.channel?.ref();
      proc.send(m);
    });
  return {
    send(m) {
      if (failed) throw failed;
      proc.send(m);
    },
    async read(file, site, bounds, traits, timeoutMs) {
      const m: TrainerRequest = { kind: 'read', file, site, bounds, traits };
      const a = await ask(m, timeoutMs, 'reading the events');
      if (!('read' in a)) throw new Error('microseg: the training process answered no read');
      return a.read;
    },
    async fit(goal, end, cutoffs, engine, timeoutMs) {
      const a = await ask({ kind: 'fit', goal, end, cutoffs, engine }, timeoutMs, 'the fit');
      if (!('result' in a)) throw new Error('microseg: the training process answered no result');
      return a.result;
    },
    stop() {
      if (child === proc) child = null;
      // Killed rather than disconnected: a fit past its time bound must not go on spending CPU.
      proc.kill('SIGKILL');
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
  const fitter = opts.inline ? inlineFitter() : processFitter();
  const left = () => Math.max(0, timeoutMs - (performance.now() - started));
  try {
    const bounds = { maxRows, maxProfiles, pageSize: PAGE, timeoutMs };
    const wantTraits = goal.traits !== undefined && goal.traits.length > 0;
    let read: TrainerRead;
    if (fitter.read && storage.sqliteFile !== null) {
      // The child reads the file itself: nothing of the read on this thread.
      read = await fitter.read(storage.sqliteFile, site.id, bounds, wantTraits, left());
    } else {
      const r = await readHistories(
        (after, limit) => storage.trainingEvents(site.id, after, limit),
        bounds,
        (visitors, events) => fitter.send({ kind: 'page', visitors, events }),
        // A turn for requests between pages.
        () => new Promise((resolve) => setImmediate(resolve)),
      ).catch((err: unknown) => {
        throw err instanceof ReadTimeout ? new TrainingTimeout(err.message) : err;
      });
      if (wantTraits) {
        const traits: [string, Record<string, unknown>][] = [];
        for (const v of r.visitors) {
          const meta = await storage.identity.meta(site.id, v);
          if (meta) traits.push([v, meta.traits]);
        }
        fitter.send({ kind: 'traits', traits });
      }
      read = { rows: r.rows, visitors: r.visitors.size, truncated: r.truncated };
    }
    const readMs = performance.now() - started;
    // What crosses to the child: thresholds only (compiled rules and served models stay here; the
    // heuristic reads none).
    const engine: EngineConfig = {
      ...site.engine,
      rules: [],
      windowProps: [],
      quiet: undefined,
      goals: undefined,
    };
    const result = await fitter.fit(goal, opts.now, opts.cutoffs, engine, left());
    const report: StoredReport = {
      ...result.report,
      rowsRead: read.rows,
      visitors: read.visitors,
      truncated: read.truncated,
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
