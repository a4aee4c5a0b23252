/**
 * Webhooks in the site config: which segment transitions call which URL, with which secret, and
 * the delivery policy (retries, backoff, timeouts). Validated at start; pure, no I/O.
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';
import type { Segment } from '../../shared/segment.ts';
import type { SegmentChangeKind } from '../../shared/webhook.ts';
import { wildcardRegExp } from '../config/wildcard.ts';
import { RULE_NAME } from '../engine/rules.ts';

const secret = z.string().min(16, 'a webhook secret has at least 16 characters');

/** Segment fields a webhook filter may test; `segments` and `rfm` test membership and the RFM label. */
const FILTER_FIELDS = [
  'lifecycle',
  'category',
  'engagement',
  'intent',
  'known',
  'cooldown',
  'segment',
  'segments',
  'rfm',
] as const;
type FilterField = (typeof FILTER_FIELDS)[number];
const filterValue = z.union([z.string().max(200), z.boolean(), z.null()]);
type FilterValue = z.infer<typeof filterValue>;

/**
 * A filter as a predicate over the segment after the change: every field must match one of its
 * values (a list means "any of"); `segments` matches when the visitor is in one of the named
 * custom segments, `rfm` compares the RFM label (`null`: no RFM yet).
 */
export function compileFilter(
  filter: Partial<Record<FilterField, FilterValue | FilterValue[]>> | undefined,
): (s: Segment) => boolean {
  if (!filter) return () => true;
  const tests = Object.entries(filter).map(([field, want]) => {
    const values = Array.isArray(want) ? want : [want];
    if (field === 'segments')
      return (s: Segment) => values.some((v) => typeof v === 'string' && s.segments.includes(v));
    if (field === 'rfm') return (s: Segment) => values.includes(s.rfm?.label ?? null);
    return (s: Segment) =>
      values.includes(s[field as Exclude<FilterField, 'segments' | 'rfm'>] as FilterValue);
  });
  return (s) => tests.every((t) => t(s));
}

export const webhookSchema = z
  .object({
    /** Stable name of the webhook (deliveries record it); derived from segment, on and url when omitted. */
    id: z
      .string()
      .max(64)
      .regex(/^[A-Za-z0-9._-]+$/, 'letters, digits, dot, dash and underscore only')
      .optional(),
    /** A custom segment's name (`camera-intent`), or `key:<pattern>` over the microsegment key, `*` matching anything (`key:*:cameras:hot`). */
    segment: z.string().min(1).max(200),
    on: z.enum(['enter', 'exit']),
    url: z.string().refine((s) => {
      try {
        const u = new URL(s);
        return (u.protocol === 'https:' || u.protocol === 'http:') && !u.username && !u.password;
      } catch {
        return false;
      }
    }, 'an http(s) URL without credentials'),
    /** Signing secret of this webhook; else the site's `webhookSecret`, else MICROSEG_WEBHOOK_SECRET. */
    secret: secret.optional(),
    /** Only for visitors whose segment after the change matches every field (docs/triggers.md). */
    filter: z
      .partialRecord(z.enum(FILTER_FIELDS), z.union([filterValue, z.array(filterValue).min(1)]))
      .refine((f) => Object.keys(f).length > 0, 'a filter names at least one field')
      .optional(),
    /**
     * After a delivery, this webhook does not fire again for the same person (visitor or contact)
     * for this many minutes: transitions in between are recorded in the segment history but not
     * sent, so a segment made to flap cannot flood the receiver. 0: every transition is sent.
     */
    cooldownMinutes: z
      .number()
      .nonnegative()
      .max(30 * 24 * 60)
      .optional(),
  })
  .strict();

/** Minutes a webhook stays quiet for one person after a delivery, when its config says nothing. */
export const DEFAULT_COOLDOWN_MINUTES = 24 * 60;

export { secret as webhookSecretSchema };

export const deliverySchema = z
  .object({
    /** Attempts before a delivery is marked failed (a replay starts over). */
    attempts: z.number().int().min(1).max(50),
    /** First retry delay; doubles per attempt up to `maxBackoffMs`, with jitter. */
    backoffMs: z.number().int().min(1),
    maxBackoffMs: z.number().int().min(1),
    /** A receiver that has not answered within this is a failed attempt. */
    timeoutMs: z.number().int().min(1).max(120_000),
    /** Deliveries in flight at once, over all receivers; one webhook gets at most half of them. */
    concurrency: z.number().int().min(1).max(64),
    /** How often the worker looks for due retries (new deliveries wake it at once). */
    pollMs: z.number().int().min(10),
    /**
     * How long a worker's claim on a delivery holds without renewal (renewed every third of it):
     * how long another collector on the database waits before it takes over a dead one's rows.
     */
    leaseMs: z.number().int().min(300).max(3_600_000),
  })
  .partial()
  .strict();

export interface DeliveryPolicy {
  attempts: number;
  backoffMs: number;
  maxBackoffMs: number;
  timeoutMs: number;
  concurrency: number;
  pollMs: number;
  leaseMs: number;
}

/**
 * Defaults: 15 attempts, waits of 5 s, 10 s, 20 s … capped at 1 h (each ½–1 of its step), so a
 * receiver may be down for about 3 to 5 hours before a delivery fails; 10 s timeout, 4 in flight.
 */
export const DEFAULT_DELIVERY: DeliveryPolicy = {
  attempts: 15,
  backoffMs: 5000,
  maxBackoffMs: 3_600_000,
  timeoutMs: 10_000,
  concurrency: 4,
  pollMs: 1000,
  leaseMs: 15_000,
};

export type WebhookMatch = { kind: 'custom'; name: string } | { kind: 'key'; pattern: RegExp };

export interface Webhook {
  id: string;
  segment: string;
  on: SegmentChangeKind;
  url: string;
  secret: string;
  match: WebhookMatch;
  /** Quiet time per person after a delivery, ms (`cooldownMinutes`). */
  cooldownMs: number;
  /** The optional filter, compiled; true without one. */
  accepts: (segment: Segment) => boolean;
}

export type WebhookInput = z.infer<typeof webhookSchema>;

/**
 * Compiles a site's webhooks. Returns the problems (with their config path) instead of
 * throwing, so the config loader reports them together with the others.
 */
export function compileWebhooks(
  site: string,
  inputs: WebhookInput[],
  opts: {
    customSegments: string[];
    siteSecret?: string | undefined;
    envSecret?: string | undefined;
  },
): { webhooks: Webhook[]; problems: string[] } {
  const webhooks: Webhook[] = [];
  const problems: string[] = [];
  const seen = new Set<string>();
  inputs.forEach((w, i) => {
    const path = `sites.${site}.webhooks.${i}`;
    let match: WebhookMatch;
    if (w.segment.startsWith('key:')) {
      const pattern = w.segment.slice(4);
      if (!pattern)
        problems.push(`${path}.segment: "key:" needs a pattern, e.g. "key:*:cameras:hot"`);
      match = { kind: 'key', pattern: wildcardRegExp(pattern) };
    } else if (w.segment.startsWith('rule:')) {
      // A runtime rule (`PUT /v1/rules/:name`): saved after start, so not checked against the
      // config's rules; it fires once a rule of that name is in force.
      const name = w.segment.slice(5);
      if (!RULE_NAME.test(name))
        problems.push(`${path}.segment: "rule:" needs a rule name, e.g. "rule:cart-abandoned"`);
      match = { kind: 'custom', name };
    } else {
      if (!opts.customSegments.includes(w.segment)) {
        const known = opts.customSegments.length ? opts.customSegments.join(', ') : 'none';
        problems.push(
          `${path}.segment: "${w.segment}" is not a custom segment of site "${site}" (custom segments: ${known}; use "key:<pattern>" for microsegment keys, "rule:<name>" for a rule saved through the API)`,
        );
      }
      match = { kind: 'custom', name: w.segment };
    }
    const key = w.secret ?? opts.siteSecret ?? opts.envSecret;
    if (!key)
      problems.push(
        `${path}: no signing secret: set "secret", the site's "webhookSecret" or MICROSEG_WEBHOOK_SECRET`,
      );
    const id =
      w.id ??
      'wh_' +
        createHash('sha256')
          .update(`${w.segment}\0${w.on}\0${w.url}`)
          .digest('base64url')
          .slice(0, 10);
    if (seen.has(id)) problems.push(`${path}.id: "${id}" is used by another webhook of this site`);
    seen.add(id);
    const cooldownMs = (w.cooldownMinutes ?? DEFAULT_COOLDOWN_MINUTES) * 60_000;
    const accepts = compileFilter(w.filter);
    webhooks.push({
      id,
      segment: w.segment,
      on: w.on,
      url: w.url,
      secret: key ?? '',
      match,
      cooldownMs,
      accepts,
    });
  });
  return { webhooks, problems };
}

/** A visitor's segment state before and after one change: the key and the custom segments. */
export interface SegmentState {
  key: string | null;
  segments: readonly string[];
}

/**
 * The webhooks a state change fires, each with the direction it crossed. `segment` is the full
 * segment after the change, for webhook filters (none given: filters are not applied).
 */
export function firedBy(
  webhooks: readonly Webhook[],
  before: SegmentState,
  after: SegmentState,
  segment?: Segment,
): { hook: Webhook; change: SegmentChangeKind }[] {
  const out: { hook: Webhook; change: SegmentChangeKind }[] = [];
  for (const hook of webhooks) {
    if (segment && !hook.accepts(segment)) continue;
    const inSet = (s: SegmentState) =>
      hook.match.kind === 'custom'
        ? s.segments.includes(hook.match.name)
        : s.key !== null && hook.match.pattern.test(s.key);
    const was = inSet(before);
    const is = inSet(after);
    // A key pattern is a set of keys: moving between two keys it matches is no transition.
    if (!was && is && hook.on === 'enter') out.push({ hook, change: 'enter' });
    if (was && !is && hook.on === 'exit') out.push({ hook, change: 'exit' });
  }
  return out;
}

/** Delay before attempt `attempt + 1` after `attempt` failures: exponential, capped, with jitter in [½, 1] of it. */
export function backoffDelay(
  attempt: number,
  policy: DeliveryPolicy,
  random: () => number = Math.random,
): number {
  const exp = Math.min(policy.maxBackoffMs, policy.backoffMs * 2 ** Math.max(0, attempt - 1));
  // Equal jitter: never less than half the step (keeps backoff), spreads a burst of retries.
  return Math.round(exp / 2 + random() * (exp / 2));
}
