/**
 * The answers of the API-key endpoints a backend calls besides `POST /v1/events`
 * (shared/server-events.ts): the collector's routes build them, `microseg/client` reads them.
 */
import type { Segment } from './segment.ts';
import type { Utm } from './wire.ts';

/** A trait's value; `null` in a patch removes the trait. */
export type TraitValue = string | number | boolean;

/** A campaign touch: its `utm_*` values and when, epoch ms. */
export interface Touch extends Utm {
  ts: number;
}

/** `GET /v1/contacts/:id/segment?site=S`: the contact's segment with its profile facts. */
export interface ContactSegment extends Segment {
  contact: string;
  traits: Record<string, TraitValue>;
  /** First and last campaign touch (`utm_*` of an arrival, with its time); null when none. */
  firstTouch: Touch | null;
  lastTouch: Touch | null;
}

/** `PUT /v1/contacts/:id/traits?site=S`: the contact's traits after the replacement, and its segment. */
export interface TraitsResponse {
  site: string;
  contact: string;
  traits: Record<string, TraitValue>;
  segment: Segment;
}

/** One link of `POST /v1/links`: the recipient and where the link leads. */
export interface LinkRequest {
  contact: string;
  to: string;
  category?: string;
  campaign?: string;
  medium?: string;
  source?: string;
  /** Days the link stays valid. */
  ttlDays?: number;
}

/** Each link's outcome, by its index in the request. */
export type LinkResult =
  | { index: number; url: string }
  | { index: number; error: string; message: string };

/** `POST /v1/links`. */
export interface LinksResponse {
  links: LinkResult[];
}

/** `DELETE /v1/visitors/:id` and `DELETE /v1/contacts/:id`: what was erased. */
export interface ErasureResponse {
  site: string;
  /** Every visitor id with rows erased (a contact's own `c:` id and its devices included). */
  visitors: string[];
  contact: string | null;
  /** Table → rows removed. */
  removed: Record<string, number>;
  /** The rows removed in all. */
  total: number;
}
