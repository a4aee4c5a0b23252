/**
 * Fixed-window request limits per key (an IP hash, a visitor id), in memory and bounded:
 * one collector process is the unit of deployment, so no shared store is needed.
 */
export interface Limiter {
  /** Counts one hit; answers how many seconds to wait when over the limit, else 0. */
  hit(key: string, now: number): number;
  readonly size: number;
}

/** Keys one limiter holds at most; past it the least recently seen key is forgotten. */
export const LIMITER_MAX_KEYS = 100_000;

export function fixedWindow(limit: number, windowMs: number, maxKeys = LIMITER_MAX_KEYS): Limiter {
  let windowStart = 0;
  let counts = new Map<string, number>();
  return {
    hit(key, now) {
      if (now - windowStart >= windowMs) {
        // A new window forgets every key at once: memory stays bounded by one window's keys.
        windowStart = now - (now % windowMs);
        counts = new Map();
      }
      const n = Math.min((counts.get(key) ?? 0) + 1, limit + 1);
      // Re-inserted on every hit, so the Map's order is least recently seen first. A full map
      // forgets that one: it never stops counting (failing open would let a flood of fresh keys
      // switch the limit off), and a key still hammering is the most recent, never the evicted.
      counts.delete(key);
      counts.set(key, n);
      if (counts.size > maxKeys) {
        const oldest = counts.keys().next();
        if (!oldest.done) counts.delete(oldest.value);
      }
      return n > limit ? Math.max(1, Math.ceil((windowStart + windowMs - now) / 1000)) : 0;
    },
    get size() {
      return counts.size;
    },
  };
}
