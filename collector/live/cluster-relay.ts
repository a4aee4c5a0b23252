/**
 * The live feed across `serve --workers N` (node:cluster): a browser's server-sent-events
 * connection lands on one worker, while the arrivals it wants to see are shared among all.
 * Workers cannot talk to each other, only to the primary, so the primary is the hub:
 * - a worker tells it what its watchers watch (`microseg:live-interest`) whenever that changes;
 * - it tells each worker what the *others* watch (`microseg:live-remote`), so a worker whose
 *   sites nobody watches anywhere still builds nothing (`LiveFeed.wants`);
 * - a worker sends the entries another worker wants (`microseg:live`), and the primary forwards
 *   each to the workers that watch its site.
 * The primary holds no entries: it forwards and forgets.
 */
import cluster from 'node:cluster';
import type { LiveEntry, LiveFeed, LiveInterest } from './feed.ts';

export type LiveMessage =
  | { type: 'microseg:live'; entries: LiveEntry[] }
  | ({ type: 'microseg:live-interest' } & LiveInterest)
  | ({ type: 'microseg:live-remote' } & LiveInterest);

const isLive = (m: unknown): m is LiveMessage =>
  typeof m === 'object' &&
  m !== null &&
  typeof (m as { type?: unknown }).type === 'string' &&
  (m as { type: string }).type.startsWith('microseg:live');

/** In a cluster worker, links `feed` to the primary (a no-op elsewhere). */
export function joinClusterLive(feed: LiveFeed): void {
  if (!cluster.isWorker || !process.send) return;
  const send = (m: LiveMessage) => process.send?.(m);
  process.on('message', (m: unknown) => {
    if (!isLive(m)) return;
    if (m.type === 'microseg:live-remote')
      feed.setRemote({ sites: m.sites, everySite: m.everySite });
    else if (m.type === 'microseg:live') feed.deliver(m.entries);
  });
  feed.connect({
    relay: (entries) => send({ type: 'microseg:live', entries }),
    interest: (now) => send({ type: 'microseg:live-interest', ...now }),
  });
}

/** Whether `interest` covers an entry of `site` (null: a site-less one). */
const covers = (interest: LiveInterest, site: string | null) =>
  site === null ? interest.everySite > 0 : (interest.sites[site] ?? 0) > 0;

/**
 * The primary's side: each worker's interest, and the routing of entries between them. `send`
 * reaches one worker by its cluster id.
 */
export class LiveHub {
  readonly #interest = new Map<number, LiveInterest>();
  readonly #send: (worker: number, m: LiveMessage) => void;
  readonly #workers: () => number[];

  constructor(send: (worker: number, m: LiveMessage) => void, workers: () => number[]) {
    this.#send = send;
    this.#workers = workers;
  }

  /** A message from worker `from`; false when it is not the live feed's. */
  message(from: number, m: unknown): boolean {
    if (!isLive(m)) return false;
    if (m.type === 'microseg:live-interest') {
      const { sites, everySite } = m;
      if (everySite === 0 && Object.keys(sites).length === 0) this.#interest.delete(from);
      else this.#interest.set(from, { sites, everySite });
      this.#tellAll();
    } else if (m.type === 'microseg:live') {
      for (const [worker, interest] of this.#interest) {
        if (worker === from) continue;
        const entries = m.entries.filter((e) => covers(interest, e.site));
        if (entries.length > 0) this.#send(worker, { type: 'microseg:live', entries });
      }
    }
    return true;
  }

  /** A worker that listens now (a new or restarted one): what the others watch. */
  joined(worker: number): void {
    this.#send(worker, { type: 'microseg:live-remote', ...this.#others(worker) });
  }

  /** A worker that exited: its watchers are gone. */
  gone(worker: number): void {
    if (this.#interest.delete(worker)) this.#tellAll();
  }

  #others(worker: number): LiveInterest {
    const sites: Record<string, number> = {};
    let everySite = 0;
    for (const [w, i] of this.#interest) {
      if (w === worker) continue;
      everySite += i.everySite;
      for (const [s, n] of Object.entries(i.sites)) sites[s] = (sites[s] ?? 0) + n;
    }
    return { sites, everySite };
  }

  #tellAll(): void {
    for (const w of this.#workers()) this.joined(w);
  }
}
