/** The body and answer of `POST /v1/events` (server-side events, API key). */
import type { Props, RefusedEvent } from './wire.ts';

/** One event from a backend: a purchase, an app screen, an imported page view. */
export interface ServerEvent {
  site: string;
  /** Exactly one of `visitor` (a browser's id) and `contact` (a known contact: its profile, across devices). */
  visitor?: string;
  contact?: string;
  /** Traits set on the event's profile (the contact's when linked): a value sets, null removes. */
  traits?: Record<string, string | number | boolean | null>;
  type: string;
  /** Event time, epoch ms; any past time (imports), at most a few minutes ahead; default: now. */
  ts?: number;
  /** De-duplication key; when absent, one is derived from the event's content (same content, same id). */
  id?: string;
  url?: string;
  category?: string;
  value?: number;
  currency?: string;
  props?: Props;
}

export interface EventsRequest {
  events: ServerEvent[];
}

export interface EventsResponse {
  accepted: number;
  duplicates: number;
  refused: RefusedEvent[];
  /** The stored id of each event, by index (null for a refused one). */
  ids: (string | null)[];
}
