/**
 * Validation of the wire at the edge: the batch envelope as a whole, then each event on
 * its own, so one bad event is refused with its reason while the rest are accepted.
 */
import { z } from 'zod';
import { eventValue, purchaseValueProblem } from './event-value.ts';
import { reservedPropKey } from './reserved-keys.ts';
import { CLOCK, LIMITS } from '../../shared/limits.ts';
import type { RefusedEvent } from '../../shared/wire.ts';
import type { NewEvent } from '../storage/contract.ts';
import { type Failure, failure, type Result, success } from '../result.ts';

const ID_CHARS = '[A-Za-z0-9_-]';

/** A visitor, session or event id. */
export const idSchema = z
  .string()
  .min(1)
  .max(LIMITS.idLength)
  .regex(new RegExp(`^${ID_CHARS}+$`), 'letters, digits, - and _ only');

/** The same test as `idSchema`, length included, as one RegExp: `GET /v1/segment` runs it without zod. */
export { ID_PATTERN } from '../../shared/ids.ts';
/**
 * No NUL (U+0000) in the text stored in columns of its own: PostgreSQL's `text` cannot hold it
 * (`invalid byte sequence`), and no URL or category has one. Refused on both backends alike, so
 * an event gets the same answer wherever it is stored. (JSON columns escape it: props, utm.)
 */
const NO_NUL = /^[^\0]*$/;
const NO_NUL_MESSAGE = 'no NUL (U+0000) character';
const url = z.string().max(LIMITS.urlLength).regex(NO_NUL, NO_NUL_MESSAGE);
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
    category: z.string().min(1).max(LIMITS.categoryLength).regex(NO_NUL, NO_NUL_MESSAGE).optional(),
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

/**
 * A batch envelope checked by hand with exactly `batchSchema`'s rules, for the common case: the
 * body itself when it passes, else the schema's verdict (with its reasons). As `plainEvent`.
 */
export function parseBatch(
  body: unknown,
):
  | { success: true; data: z.infer<typeof batchSchema> }
  | z.ZodSafeParseResult<z.infer<typeof batchSchema>> {
  if (typeof body === 'object' && body !== null && !Array.isArray(body)) {
    const b = body as Record<string, unknown>;
    let ok =
      isText(b.site, 1, LIMITS.idLength) &&
      isId(b.visitor) &&
      Array.isArray(b.events) &&
      b.events.length > 0;
    for (const k in b) {
      if (!ok) break;
      if (!Object.hasOwn(b, k)) continue;
      switch (k) {
        case 'site':
        case 'visitor':
        case 'events':
        case 'traits':
          continue;
        case 'webdriver':
          ok = typeof b.webdriver === 'boolean';
          continue;
        case 'token':
          ok = isText(b.token, 0, 1024);
          continue;
        case 'dropped':
          ok = typeof b.dropped === 'number' && Number.isSafeInteger(b.dropped) && b.dropped >= 0;
          continue;
        default:
          ok = false;
      }
    }
    if (ok) return { success: true, data: b as z.infer<typeof batchSchema> };
  }
  return batchSchema.safeParse(body);
}

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

const ID_RE = new RegExp(`^${ID_CHARS}+$`);
const TYPE_RE = /^[A-Za-z0-9_.:-]+$/;
const CURRENCY_RE = /^[A-Za-z]{3}$/;
const isText = (v: unknown, min: number, max: number): v is string =>
  typeof v === 'string' && v.length >= min && v.length <= max;
/** Text of a column of its own: `isText` without a NUL (see NO_NUL). */
const isColumnText = (v: unknown, min: number, max: number): v is string =>
  isText(v, min, max) && !v.includes('\0');
const isId = (v: unknown): v is string => isText(v, 1, LIMITS.idLength) && ID_RE.test(v);

/**
 * The common browser event (a page view, click or cart: no props, no utm) checked by hand, with
 * exactly `eventSchema`'s rules: the item itself when it passes, else undefined and the schema
 * judges it (and says why). zod builds a new object and a context per event; this allocates
 * nothing. test/collector/validate.test.ts holds the two to the same verdicts.
 */
export function plainEvent(item: unknown): z.infer<typeof eventSchema> | undefined {
  if (typeof item !== 'object' || item === null || Array.isArray(item)) return undefined;
  const e = item as Record<string, unknown>;
  let keys = 0;
  for (const k in e) {
    if (!Object.hasOwn(e, k)) continue;
    keys++;
    switch (k) {
      case 'id':
      case 'type':
      case 'ts':
        continue;
      case 'session':
        if (!isId(e.session)) return undefined;
        continue;
      case 'url':
      case 'ref':
      case 'target':
        if (!isColumnText(e[k], 0, LIMITS.urlLength)) return undefined;
        continue;
      case 'category':
        if (!isColumnText(e.category, 1, LIMITS.categoryLength)) return undefined;
        continue;
      case 'nav':
        if (e.nav !== 'load' && e.nav !== 'spa') return undefined;
        continue;
      case 'outbound':
        if (typeof e.outbound !== 'boolean') return undefined;
        continue;
      case 'value':
        if (
          typeof e.value !== 'number' ||
          !Number.isFinite(e.value) ||
          e.value < -LIMITS.maxValue ||
          e.value > LIMITS.maxValue
        )
          return undefined;
        continue;
      case 'currency':
        if (typeof e.currency !== 'string' || !CURRENCY_RE.test(e.currency)) return undefined;
        continue;
      default:
        // props, utm, an unknown key (refused), `__proto__`…: the schema's judgement.
        return undefined;
    }
  }
  if (keys === 0 || !isId(e.id)) return undefined;
  if (!isText(e.type, 1, LIMITS.typeLength) || !TYPE_RE.test(e.type)) return undefined;
  if (typeof e.ts !== 'number' || !Number.isSafeInteger(e.ts) || e.ts < 0) return undefined;
  return e as z.infer<typeof eventSchema>;
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
    const plain = plainEvent(item);
    const checked =
      plain && !purchaseValueProblem(plain) ? success(plain) : checkEvent(eventSchema, item);
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
