/**
 * A visitor's profile: the small aggregate the engine keeps up to date on every event,
 * so reading a segment never touches the event history.
 */

/** A category's exponentially decayed score `s`, valid at time `t` (epoch ms). */
export interface Score {
  s: number;
  t: number;
}

/** One entry of the sliding-window log: time, event type, category (or null). */
export type WindowEntry = [t: number, type: string, category: string | null];

export interface Profile {
  /** Earliest and latest event time seen. */
  firstSeen: number;
  lastSeen: number;
  /** Events applied, all time. */
  count: number;
  /** Category → decayed affinity score. */
  scores: Record<string, Score>;
  /** Recent events, oldest first, bounded by `windowDays` and `windowCap`: exact window counts at read time. */
  window: WindowEntry[];
}

/** The engine's view of one event (from the browser or a backend). */
export interface EngineEvent {
  type: string;
  ts: number;
  category?: string | null;
  value?: number | null;
}

export function emptyProfile(now: number): Profile {
  return { firstSeen: now, lastSeen: now, count: 0, scores: {}, window: [] };
}
