/**
 * A training's read of a site's events (goals/trainer.ts): page after page in `(visitor, ts, id)`
 * order, each visitor's events handed on together, within the bounds (rows, visitors, time). The
 * same loop runs in the training's child process on its own read-only SQLite connection, and on
 * the collector's thread for PostgreSQL and in-memory databases (a pause between pages there).
 */
import type { TrainingEvent } from '../storage/contract.ts';
import type { FeatureEvent } from './features.ts';

export interface ReadBounds {
  maxRows: number;
  maxProfiles: number;
  pageSize: number;
  /** Time the read may take from its start, ms. */
  timeoutMs: number;
}

export interface ReadSummary {
  rows: number;
  visitors: Set<string>;
  /** A bound stopped the read (rows or visitors): the rest of the site was not read. */
  truncated: boolean;
}

export class ReadTimeout extends Error {
  override name = 'ReadTimeout';
}

type Cursor = { visitor: string; ts: number; id: string } | null;

export const featureEvent = (e: TrainingEvent): FeatureEvent => ({
  ts: e.ts,
  type: e.type,
  category: e.category,
  value: e.value,
  props: e.props,
  utm: e.utm as Record<string, string | undefined> | null,
});

export async function readHistories(
  readPage: (after: Cursor, limit: number) => TrainingEvent[] | Promise<TrainingEvent[]>,
  bounds: ReadBounds,
  onPage: (visitors: string[], events: FeatureEvent[][]) => void,
  pause?: () => Promise<void>,
): Promise<ReadSummary> {
  const started = performance.now();
  let cursor: Cursor = null;
  const out: ReadSummary = { rows: 0, visitors: new Set(), truncated: false };
  for (;;) {
    if (performance.now() - started > bounds.timeoutMs)
      throw new ReadTimeout(`reading the events took longer than ${bounds.timeoutMs} ms`);
    const page = await readPage(cursor, Math.min(bounds.pageSize, bounds.maxRows - out.rows));
    const last = page[page.length - 1];
    if (last === undefined) break;
    const ids: string[] = [];
    const events: FeatureEvent[][] = [];
    for (const e of page) {
      if (!out.visitors.has(e.visitor)) {
        if (out.visitors.size >= bounds.maxProfiles) {
          out.truncated = true;
          break;
        }
        out.visitors.add(e.visitor);
      }
      if (ids[ids.length - 1] !== e.visitor) {
        ids.push(e.visitor);
        events.push([]);
      }
      events[events.length - 1]?.push(featureEvent(e));
    }
    onPage(ids, events);
    out.rows += page.length;
    cursor = { visitor: last.visitor, ts: last.ts, id: last.id };
    if (out.truncated) break;
    if (out.rows >= bounds.maxRows) {
      out.truncated = true;
      break;
    }
    if (pause) await pause();
  }
  return out;
}
