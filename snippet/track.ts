import type { CompactEvent, PropValue } from '../shared/wire.ts';
import { newId } from './ids.ts';
import { send } from './transport.ts';

/**
 * What `microseg.track(type, props)` takes. The props go on the wire as they are: the collector
 * makes `value`, `currency` and `category` event fields and takes a null or empty one as absent.
 */
export type TrackProps = Record<string, PropValue | undefined> & {
  value?: number;
  currency?: string;
  category?: string | null;
};

/** The collector cuts longer URLs (LIMITS.urlLength), but a long one must not swell a batch past its body limit. */
export const cut = (u: string): string => u.slice(0, 2048);

/**
 * Records one event: adds a unique id, the client time and the page, in the compact form, and hands
 * it to the transport. No session: the collector assigns it at ingest (collector/storage/sessions.ts).
 * Page views and link clicks carry no type: the collector tells them by `n` and `h` (shared/wire.ts).
 */
export const record = (e: Omit<CompactEvent, 'i' | 't' | 'u'>): void =>
  send({ ...e, i: newId(), t: Date.now(), u: cut(location.href) });

/** `microseg.track(type, props?)`: an event of the site's own. */
export const track = (type: string, props?: TrackProps): void => record({ y: type, p: props });
