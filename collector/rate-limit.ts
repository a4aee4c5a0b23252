/**
 * Fixed-window request limits per key (an IP hash, a visitor id), in memory and bounded:
 * one collector process is the unit of deployment, so no shared store is needed.
 */
export interface Limiter {
  /** Counts one hit; answers how many seconds to wait when over the limit, else 0. */
  hit(key: string, now: number): number;
  readonly size: number;
}

export function fixedWindow(limit: number, windowMs: number, maxKeys = 100_000): Limiter {
  let windowStart = 0;
  let counts = new Map<string, number>();
  return {
    hit(key, now) {
      if (now - windowStart >= windowMs) {
        // A new window forgets every key at once: memory stays bounded by one window's keys.
        windowStart = now - (now % windowMs);
        counts = new Map();
      }
      const n = (counts.get(key) ?? 0) + 1;
      if (n > limit) return Math.max(1, Math.ceil((windowStart + windowMs - now) / 1000));
      if (counts.size >= maxKeys && !counts.has(key)) return 0; // Under a flood of keys, fail open.
      counts.set(key, n);
      return 0;
    },
    get size() {
      return counts.size;
    },
  };
}
