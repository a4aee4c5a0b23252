import { load, save } from './store.ts';

/**
 * A random id from the browser's CSPRNG: four random 32-bit numbers in decimal, joined by `_`
 * (128 bits, up to 43 characters of the collector's id alphabet). `crypto.randomUUID` would be
 * shorter, but pages served over plain http lack it; nanoid's alphabet costs ~60 bytes gzip.
 */
export const newId = (): string => crypto.getRandomValues(new Uint32Array(4)).join('_');

/** A random visitor id kept in first-party storage: no cookie, nothing personal in it. */
export const visitor = load().v || save('v', newId());

// No session id: the collector assigns sessions at ingest from the time between events
// (collector/storage/sessions.ts), so nothing here keeps the time of the last event.
