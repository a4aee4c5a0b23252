// Everything the snippet keeps is one JSON record in localStorage `ms`, so an opt-out clears it with
// one write and nothing else is left behind. It is read afresh on each use: tabs share the retry
// queue and see another tab's opt-out at once. localStorage throws on access in some
// privacy modes and sandboxed frames, and on writes when full: then the record lives in memory for
// the page's life instead of breaking the page.
import type { BrowserSegment } from '../shared/segment.ts';
import type { CompactBatch } from '../shared/wire.ts';
import { dnt } from './config.ts';

/** The retry queue, as the part of a batch it becomes. */
export type Retry = Pick<CompactBatch, 'e' | 'd' | 'k'>;

export interface Rec {
  /** Visitor id. */
  v?: string;
  /** The last segment and when it came from the collector. */
  g?: [BrowserSegment, number];
  /**
   * The retry queue: events of failed batches (oldest first), how many events were dropped since
   * the last batch that got through, their token. (v1 kept an array under `b`; a queue left by v1
   * is not read.)
   */
  q?: Retry;
  /** Opted out (or, in memory only, DNT/GPC). */
  o?: unknown;
}

let ls: Storage | 0 = 0;
// Under DNT/GPC without consent the record is never read nor written: it lives in memory, marked off.
try {
  if (!dnt) ls = localStorage;
} catch {}
let mem: Rec = { o: dnt };

export const load = (): Rec => {
  try {
    mem = JSON.parse((ls as Storage).ms);
  } catch {}
  return mem;
};

/** Stores the record in memory (`mem`). */
const write = (): void => {
  try {
    (ls as Storage).ms = JSON.stringify(mem);
  } catch {
    ls = 0;
  }
};

/** Whether the snippet must send and store nothing: opted out, or DNT/GPC without stated consent. */
export const off = (): unknown => load().o;

/** Sets (or, without a value, removes) one field of the record, and returns the value. */
export const save = <K extends keyof Rec, V extends Rec[K]>(k: K, v?: V): V => {
  // load() answers `mem`, the record it just read.
  load()[k] = v;
  if (!mem.o) write();
  return v as V;
};

/** `microseg.optOut()`: forgets the ids and the cached segment, and keeps only the opt-out, for good. */
export const optOut = (): void => {
  mem = { o: 1 };
  write();
};
