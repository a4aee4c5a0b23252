/**
 * The segment read caches of both backends (sqlite/reads.ts, pg/reads.ts): a bounded map and an
 * admission rule.
 *
 * A bounded map that evicts a least recently used entry first, approximately: the segment read
 * path keeps parsed profiles here so a read skips SQLite and JSON.parse. It is a CLOCK ("second
 * chance") cache over fixed slots: a hit only marks its slot, where an exact LRU moves the entry
 * to the end of a Map (a delete and an insert per hit); a new entry takes the first unmarked slot
 * after the clock hand, clearing the marks it passes. No Map is ever iterated: iterating one from
 * its start walks over the holes its deletes left, thousands when most reads miss.
 */
export class Lru<V> {
  readonly #index = new Map<string, number>();
  readonly #keys: (string | undefined)[];
  readonly #values: (V | undefined)[];
  readonly #used: Uint8Array;
  #hand = 0;
  readonly max: number;

  constructor(max: number) {
    this.max = Math.max(0, Math.floor(max));
    this.#keys = new Array<string | undefined>(this.max).fill(undefined);
    this.#values = new Array<V | undefined>(this.max).fill(undefined);
    this.#used = new Uint8Array(this.max);
  }

  get(key: string): V | undefined {
    const i = this.#index.get(key);
    if (i === undefined) return undefined;
    this.#used[i] = 1;
    return this.#values[i];
  }

  set(key: string, value: V): void {
    if (this.max === 0) return;
    const at = this.#index.get(key);
    if (at !== undefined) {
      this.#values[at] = value;
      this.#used[at] = 1;
      return;
    }
    // Ends: each step past a marked slot clears its mark, so within two turns of the clock.
    for (;;) {
      const i = this.#hand;
      this.#hand = (i + 1) % this.max;
      const old = this.#keys[i];
      if (old !== undefined && this.#used[i] === 1) {
        this.#used[i] = 0;
        continue;
      }
      if (old !== undefined) this.#index.delete(old);
      this.#keys[i] = key;
      this.#values[i] = value;
      this.#used[i] = 0;
      this.#index.set(key, i);
      return;
    }
  }

  delete(key: string): void {
    const i = this.#index.get(key);
    if (i === undefined) return;
    this.#index.delete(key);
    this.#keys[i] = undefined;
    this.#values[i] = undefined;
    this.#used[i] = 0;
  }

  clear(): void {
    this.#index.clear();
    this.#keys.fill(undefined);
    this.#values.fill(undefined);
    this.#used.fill(0);
  }

  get size(): number {
    return this.#index.size;
  }
}

/** About 2.4 KB of heap each for a profile of ten events: ~12 MB, more for long windows. */
export const DEFAULT_PROFILE_CACHE = 5_000;

/*
 * Admission: a visitor enters a cache on its second use within the last `size` misses. Uses
 * spread evenly over many more visitors than the cache holds would otherwise replace an entry on
 * almost every use, and each replaced entry is old-generation garbage (at 1M events the heap grew
 * to 140 MB and reads ran at half speed). One byte per hash slot, no allocation.
 */
export function admission(size: number): (site: string, visitor: string) => boolean {
  const seenOnce = new Uint8Array(1 << 16);
  let missesSinceReset = 0;
  return (site, visitor) => {
    let h = 0x811c9dc5; // FNV-1a
    for (let i = 0; i < site.length; i++) h = Math.imul(h ^ site.charCodeAt(i), 0x01000193);
    for (let i = 0; i < visitor.length; i++) h = Math.imul(h ^ visitor.charCodeAt(i), 0x01000193);
    const slot = h & 0xffff;
    if (seenOnce[slot] === 1) return true;
    seenOnce[slot] = 1;
    if (++missesSinceReset >= size) {
      seenOnce.fill(0);
      missesSinceReset = 0;
    }
    return false;
  };
}
