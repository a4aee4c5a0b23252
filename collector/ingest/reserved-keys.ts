/**
 * Keys refused wherever the wire names object keys (event props, traits): they reach an object's
 * prototype. Checked on the raw JSON, because a zod record drops a `__proto__` key silently — a
 * PUT of `{"__proto__": …}` would otherwise pass as an empty object.
 */
export const RESERVED_KEYS: ReadonlySet<string> = new Set([
  '__proto__',
  'constructor',
  'prototype',
]);

/** The first reserved own key of a raw JSON object, if any. */
export function reservedKeyOf(obj: unknown): string | undefined {
  if (!obj || typeof obj !== 'object') return undefined;
  return Object.keys(obj).find((k) => RESERVED_KEYS.has(k));
}

/** The first reserved key of a raw event's `props`, if any. */
export function reservedPropKey(event: unknown): string | undefined {
  return reservedKeyOf((event as { props?: unknown } | null)?.props);
}
