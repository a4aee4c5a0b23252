/**
 * What a webhook receiver gets (docs/triggers.md): a JSON body, a delivery id to de-duplicate
 * on, and an HMAC-SHA256 signature over `${timestamp}.${body}` with the webhook's secret.
 */
import type { Segment } from './segment.ts';

/** Header names, lower case as Node's `req.headers` has them. */
export const WEBHOOK_HEADERS = {
  /** The delivery id; the same on every retry and replay of one delivery. */
  delivery: 'x-microseg-delivery',
  /** Epoch ms of this attempt, covered by the signature (reject old ones to stop replays). */
  timestamp: 'x-microseg-timestamp',
  /** `sha256=<hex HMAC-SHA256(secret, timestamp + "." + body)>`. */
  signature: 'x-microseg-signature',
} as const;

export type SegmentChangeKind = 'enter' | 'exit';

export interface WebhookPayload {
  /** The delivery id (also in the `x-microseg-delivery` header). */
  id: string;
  /** `segment.enter` or `segment.exit`. */
  type: `segment.${SegmentChangeKind}`;
  site: string;
  visitor: string;
  /** The known contact of the visitor, when linked. */
  contact: string | null;
  /** The webhook's segment as configured: a custom segment name or `key:<pattern>`. */
  segment: string;
  change: SegmentChangeKind;
  /** When the change happened, epoch ms. */
  at: number;
  /** The visitor's segment right after the change. */
  profile: Segment;
}

export type DeliveryStatus = 'pending' | 'delivered' | 'failed';

/** One delivery as listed by `GET /v1/deliveries` and `microseg deliveries`. */
export interface Delivery {
  id: string;
  site: string;
  visitor: string;
  contact: string | null;
  /** The webhook's id in the site config. */
  hook: string;
  url: string;
  segment: string;
  change: SegmentChangeKind;
  status: DeliveryStatus;
  attempts: number;
  /** Epoch ms: enqueued, next attempt due, last attempt, delivered. */
  created: number;
  nextAttempt: number;
  lastAttempt: number | null;
  /** HTTP status of the last attempt; null when none answered (timeout, connection refused). */
  lastStatus: number | null;
  lastError: string | null;
  deliveredAt: number | null;
}
