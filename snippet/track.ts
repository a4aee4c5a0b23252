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

/** Fields only the snippet itself sets: navigation and referrer of a page view, a link's href. */
export type Extra = Pick<CompactEvent, 'n' | 'r' | 'h'>;

/** The collector cuts longer URLs (LIMITS.urlLength), but a long one must not swell a batch past its body limit. */
export const cut = (u: string): string => u.slice(0, 2048);

/**
 * Builds one event (unique id, client time, page) in the compact form, for the transport. No
 * session: the collector assigns it at ingest (collector/storage/sessions.ts).
 */
export const track = (type: string, props?: TrackProps, extra?: Extra): void =>
  send({ ...extra, i: newId(), y: type, t: Date.now(), u: cut(location.href), p: props });
