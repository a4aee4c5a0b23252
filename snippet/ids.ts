import { load, save } from './store.ts';

/**
 * A random id of 24 URL-safe characters from the browser's CSPRNG: 18 random bytes in base64 (no
 * padding), with `+` and `/` both written `_`, which leaves over 143 bits. Written here because
 * nanoid's 64-character alphabet string costs ~60 bytes gzip in the snippet.
 */
export const newId = (): string =>
  btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(18)))).replace(/\W/g, '_');

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
