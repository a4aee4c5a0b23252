/**
 * A bounded map that evicts the least recently used entry first: the segment read path keeps
 * parsed profiles here so a read skips SQLite and JSON.parse. A Map iterates in insertion order,
 * so re-inserting on a hit keeps the oldest entry first.
 */
export class Lru<V> {
  readonly #map = new Map<string, V>();
  readonly max: number;

  constructor(max: number) {
    this.max = Math.max(0, Math.floor(max));
  }

  get(key: string): V | undefined {
    const v = this.#map.get(key);
    if (v !== undefined) {
      this.#map.delete(key);
      this.#map.set(key, v);
    }
    return v;
  }

  set(key: string, value: V): void {
    if (this.max === 0) return;
    this.#map.delete(key);
    this.#map.set(key, value);
    if (this.#map.size > this.max) {
      const oldest = this.#map.keys().next();
      if (!oldest.done) this.#map.delete(oldest.value);
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
