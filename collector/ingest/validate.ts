/**
 * Validation of the wire at the edge: the batch envelope as a whole, then each event on
 * its own, so one bad event is refused with its reason while the rest are accepted.
 */
import { z } from 'zod';
import { eventValue, purchaseValueProblem } from './event-value.ts';
import { reservedPropKey } from './reserved-keys.ts';
import { CLOCK, LIMITS } from '../../shared/limits.ts';
import type { RefusedEvent } from '../../shared/wire.ts';
import type { NewEvent } from '../storage/storage.ts';
import { type Failure, failure, type Result, success } from '../result.ts';

const ID_CHARS = '[A-Za-z0-9_-]';

/** A visitor, session or event id. */
export const idSchema = z
  .string()
  .min(1)
  .max(LIMITS.idLength)
  .regex(new RegExp(`^${ID_CHARS}+$`), 'letters, digits, - and _ only');

/** The same test as `idSchema`, length included, as one RegExp: `GET /v1/segment` runs it without zod. */
export const ID_PATTERN = new RegExp(`^${ID_CHARS}{1,${LIMITS.idLength}}$`);
const url = z.string().max(LIMITS.urlLength);
const shortText = (max: number) => z.string().max(max);

const props = z
  .record(
    z.string().min(1).max(LIMITS.propKeyLength),
    z.union([z.string().max(LIMITS.propValueLength), z.number().finite(), z.boolean(), z.null()]),
  )
  .refine((o) => Object.keys(o).length <= LIMITS.propsKeys, `at most ${LIMITS.propsKeys} props`);

const utm = z
  .object({
    source: shortText(LIMITS.propValueLength),
    medium: shortText(LIMITS.propValueLength),
    campaign: shortText(LIMITS.propValueLength),
    term: shortText(LIMITS.propValueLength),
    content: shortText(LIMITS.propValueLength),
  })
  .partial()
  .strict();

export const eventSchema = z
  .object({
    id: idSchema,
    type: z
      .string()
      .min(1)
      .max(LIMITS.typeLength)
      .regex(/^[A-Za-z0-9_.:-]+$/, 'letters, digits, _ . : - only'),
    ts: z.number().int().nonnegative(),
    session: idSchema.optional(),
    url: url.optional(),
    ref: url.optional(),
    category: z.string().min(1).max(LIMITS.categoryLength).optional(),
    nav: z.enum(['load', 'spa']).optional(),
    target: url.optional(),
    outbound: z.boolean().optional(),
    value: eventValue.optional(),
    currency: z
      .string()
      .regex(/^[A-Za-z]{3}$/, 'an ISO 4217 code such as "EUR"')
      .optional(),
    props: props.optional(),
    utm: utm.optional(),
  })
  .strict();

export const batchSchema = z
  .object({
    site: z.string().min(1).max(LIMITS.idLength),
    visitor: idSchema,
    // No events is a read: the answer carries the segment (the snippet's `segment()` asks so).
    events: z.array(z.unknown()),
    webdriver: z.boolean().optional(),
    token: z.string().max(1024).optional(),
    // Raw: a record here would drop a `__proto__` key before traitPatchSchema could refuse it.
    traits: z.unknown().optional(),
    dropped: z.number().int().nonnegative().optional(),
  })
  .strict();

/** More than `max` events: the whole request is refused (413) before the schema looks at each one. */
export function tooManyEvents(body: unknown, max: number): boolean {
  const events = (body as { events?: unknown } | null)?.events;
  return Array.isArray(events) && events.length > max;
}

/** "field: reason" for the first few problems, as one sentence; `within` prefixes each path. */
export function describe(error: z.ZodError, within?: string): string {
  return error.issues
    .slice(0, 3)
    .map((i) => {
      const path = within ? [within, ...i.path] : i.path;
      return path.length ? `${path.join('.')}: ${i.message}` : i.message;
    })
    .join('; ');
}

/** Clamps a client timestamp into the sane window around server time. */
function clampTs(ts: number, now: number): number {
  return Math.min(Math.max(ts, now - CLOCK.maxEventAgeMs), now + CLOCK.maxClockSkewMs);
}

/** A refused event: its index, and its `id` when that is one the sender could look it up by. */
export function refusal(
  index: number,
  item: unknown,
  error: string,
  message: string,
): RefusedEvent {
  const id = (item as { id?: unknown } | null)?.id;
  return {
    index,
    ...(typeof id === 'string' && id.length <= LIMITS.idLength ? { id } : {}),
    error,
    message,
  };
}

/**
 * One event against `schema` (browser or server): a reserved prop name first (the record would
 * drop a `__proto__` key without a word), then the schema, then a purchase's value.
 */
export function checkEvent<S extends z.ZodType<{ type: string; value?: number | undefined }>>(
  schema: S,
  item: unknown,
): Result<z.infer<S>, Failure<'invalid_event'>> {
  const reserved = reservedPropKey(item);
  if (reserved) return failure('invalid_event', `props.${reserved}: reserved prop name`);
  const r = schema.safeParse(item);
  if (!r.success) return failure('invalid_event', describe(r.error));
  const purchase = purchaseValueProblem(r.data);
  if (purchase) return failure('invalid_event', purchase);
  return success(r.data);
}

/** Splits raw events into valid ones (clamped) and refusals with reasons. */
export function validateEvents(
  raw: unknown[],
  now: number,
): { valid: NewEvent[]; refused: RefusedEvent[] } {
  const valid: NewEvent[] = [];
  const refused: RefusedEvent[] = [];
  const seen = new Set<string>();
  for (const [index, item] of raw.entries()) {
    const checked = checkEvent(eventSchema, item);
    if (!checked.ok) {
      refused.push(refusal(index, item, checked.error, checked.message));
      continue;
    }
    const e = checked.value;
    // The same id twice in one batch is one event.
    if (seen.has(e.id)) continue;
    seen.add(e.id);
    valid.push({ ...e, ts: clampTs(e.ts, now) });
  }
  return { valid, refused };
}
