/**
 * A bounded map that evicts a least recently used entry first, approximately: the segment read
 * path keeps parsed profiles here so a read skips SQLite and JSON.parse. It is a CLOCK ("second
 * chance") cache: a hit only marks its entry, where an exact LRU would move it to the end of the
 * Map (a delete and an insert per hit, the largest cost of a cached read); eviction walks from the
 * oldest insertion, giving marked entries one more round at the end.
 */
interface Slot<V> {
  value: V;
  used: boolean;
}

export class Lru<V> {
  readonly #map = new Map<string, Slot<V>>();
  readonly max: number;

  constructor(max: number) {
    this.max = Math.max(0, Math.floor(max));
  }

  get(key: string): V | undefined {
    const slot = this.#map.get(key);
    if (slot === undefined) return undefined;
    slot.used = true;
    return slot.value;
  }

  set(key: string, value: V): void {
    if (this.max === 0) return;
    const slot = this.#map.get(key);
    if (slot !== undefined) {
      slot.value = value;
      slot.used = true;
      return;
    }
    this.#map.set(key, { value, used: false });
    if (this.#map.size > this.max) this.#evict();
  }

  #evict(): void {
    // Ends: each pass clears a mark, so at most size + 1 steps.
    for (const [key, slot] of this.#map) {
      this.#map.delete(key);
      if (!slot.used) return;
      slot.used = false;
      this.#map.set(key, slot);
    }
  }

  delete(key: string): void {
    this.#map.delete(key);
  }

  clear(): void {
    this.#map.clear();
  }

  get size(): number {
    return this.#map.size;
  }
}
