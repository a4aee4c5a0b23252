import { beside, cookieMode } from './config.ts';
import { load, off, save } from './store.ts';

/**
 * A random id from the browser's CSPRNG: four random 32-bit numbers in decimal, joined by `_`
 * (128 bits, up to 43 characters of the collector's id alphabet). `crypto.randomUUID` would be
 * shorter, but pages served over plain http lack it; nanoid's alphabet costs ~60 bytes gzip.
 */
export const newId = (): string => crypto.getRandomValues(new Uint32Array(4)).join('_');

/**
 * A random visitor id kept in first-party storage, nothing personal in it. In cookie mode, the
 * cookie's id once ms.cookie.js has run (`syncCookie`).
 */
export let visitor = load().v || save('v', newId());

/**
 * Cookie mode (`data-cookie`): imports ms.cookie.js (cookie.ts), which adopts the cookie's id (a
 * server may have set it first) and writes ours, or removes the cookie once off. Called at start,
 * where the page-load batch waits for it (so it carries the id the server knows), and on opt-out.
 * A failed load (blocked, offline) is no error the page sees: the start sends anyway, with the stored id.
 * Without `data-cookie` no cookie is read or written. Always a promise (async: the start chains
 * `flush` on it without a `Promise.resolve`), of false or undefined: either is `flush`'s `leaving`
 * (not leaving). It never rejects.
 */
export const syncCookie = async (_?: unknown): Promise<unknown> =>
  cookieMode &&
  beside<typeof import('./cookie.ts')>('ms.cookie.js').then(
    (m) => {
      visitor = save('v', m.c(visitor, off()));
    },
    () => {},
  );

// No session id: the collector assigns sessions at ingest from the time between events
// (collector/storage/sessions.ts), so nothing here keeps the time of the last event.
