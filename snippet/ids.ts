import { load, save } from './store.ts';

/**
 * A random id from the browser's CSPRNG: four random 32-bit numbers in decimal, joined by `_`
 * (128 bits, up to 43 characters of the collector's id alphabet). `crypto.randomUUID` would be
 * shorter, but pages served over plain http lack it; nanoid's alphabet costs ~60 bytes gzip.
 */
export const newId = (): string => crypto.getRandomValues(new Uint32Array(4)).join('_');

/** A random visitor id kept in first-party storage: no cookie, nothing personal in it. */
export const visitor = load().v || save('v', newId())!;

/**
 * The session id for an event at `now`. Stored with the time of its last event, so tabs of one
 * visitor share a session and a tab left idle starts a new one: after 30 minutes without events,
 * as in common analytics tools. (Literals, not named constants: esbuild keeps a constant's own var.)
 */
export const session = (now: number): string => {
  const [id, last] = load().s || [];
  const sid = id && now - last! < 18e5 ? id : newId();
  save('s', [sid, now]);
  return sid;
};
