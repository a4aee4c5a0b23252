/**
 * One request to the collector, shared by the batches (transport.ts) and `segment()`: the answer's
 * JSON when the status is 2xx; otherwise it rejects with the `Response` (an HTTP error, whose
 * status says whether to retry) or with the network's `TypeError` (no status).
 */
export const ask = <T>(url: URL, init?: RequestInit): Promise<T> =>
  fetch(url, init).then((r) => (r.ok ? r.json() : Promise.reject(r)));
