/**
 * The snippet's compact batch (shared/wire.ts `CompactBatch`) turned into the long form before
 * validation, so the schema and the limits stay in one place (validate.ts) for both forms. The
 * decoder only renames and fills in; it judges nothing: a value of the wrong type goes on as it
 * came and the schema refuses it with its reason, and keys it does not know go on unchanged so the
 * strict schema names them.
 */
import { CLOCK, LIMITS } from '../../shared/limits.ts';

type Json = Record<string, unknown>;

const BATCH_KEYS: Record<string, string> = {
  s: 'site',
  v: 'visitor',
  e: 'events',
  k: 'token',
  w: 'webdriver',
  d: 'dropped',
};
const EVENT_KEYS: Record<string, string> = {
  i: 'id',
  y: 'type',
  t: 'ts',
  s: 'session',
  u: 'url',
  r: 'ref',
  n: 'nav',
  h: 'target',
  p: 'props',
};
/** Props that are wire fields of their own (`microseg.track(type, { value, currency, category })`). */
const FIELD_PROPS = ['value', 'currency', 'category'];

const isObject = (v: unknown): v is Json =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** The compact form says "absent" in whatever way is shortest for the snippet to write. */
const absent = (v: unknown) =>
  v == null || v === '' || v === false || v === 0 || (isObject(v) && Object.keys(v).length === 0);

/** A compact body (`CompactBatch`): `e` and no `events`. Anything else is left to the long form's schema. */
const isCompact = (body: unknown): body is Json =>
  isObject(body) && 'e' in body && !('events' in body);

/** The snippet cannot know the collector's URL limit costs the event; the collector cuts instead. */
const cut = (v: unknown) => (typeof v === 'string' ? v.slice(0, LIMITS.urlLength) : v);

/** The page URL's origin, or undefined when it is not a URL. */
const originOf = (url: unknown): string | undefined => {
  try {
    return new URL(String(url)).origin;
  } catch {
    return undefined;
  }
};

/** `h`, the link's attribute as written, resolved against the page URL; as written when it does not resolve. */
function resolveTarget(h: string, url: unknown): { target: string; outbound?: boolean } {
  try {
    const target = new URL(h, String(url));
    const page = originOf(url);
    // `mailto:`, `tel:` and the like have the origin "null": they leave the page too.
    return { target: target.href, ...(page ? { outbound: target.origin !== page } : {}) };
  } catch {
    return { target: h };
  }
}

function expandEvent(raw: unknown): unknown {
  if (!isObject(raw)) return raw;
  const out: Json = {};
  for (const [k, v] of Object.entries(raw)) {
    if (absent(v) && k !== 'h') continue;
    const name = EVENT_KEYS[k] ?? k;
    if (name === 'url' || name === 'ref') out[name] = cut(v);
    else if (name === 'target' && typeof v === 'string')
      Object.assign(out, resolveTarget(v, raw.u));
    else if (name === 'props' && isObject(v)) {
      const props: Json = {};
      for (const [pk, pv] of Object.entries(v)) {
        if (FIELD_PROPS.includes(pk)) {
          // A field prop that is absent leaves the field absent (`category: null` is "no category").
          if (!absent(pv) || pv === 0) out[pk] = pv;
        } else if (pv !== undefined) props[pk] = pv;
      }
      if (Object.keys(props).length > 0) out.props = props;
    } else out[name] = v;
  }
  if (typeof out.target === 'string') out.target = cut(out.target);
  return out;
}

/**
 * The snippet's retry queue gives up no event for its age: its events come here, and one older
 * than the max event age (which a long-form sender would see stored as that old) is dropped and
 * counted with the batch's `dropped`, so nothing is retried forever nor stored with a wrong time.
 * Older by both clocks: the server's `now`, and the batch's own newest event, so a browser whose
 * clock is days behind loses nothing (its events are clamped as any sender's). A batch of old
 * events alone (sent on `online` with nothing new) is kept as well, clamped.
 */
function dropStale(body: Json, now: number): void {
  const events = body.e;
  if (!Array.isArray(events)) return;
  const ts = (e: unknown) => (isObject(e) && typeof e.t === 'number' ? e.t : NaN);
  const newest = Math.max(...events.map(ts));
  const fresh = events.filter((e) => !(Math.min(now, newest) - ts(e) > CLOCK.maxEventAgeMs));
  if (fresh.length === events.length) return;
  const dropped = typeof body.d === 'number' ? body.d : 0;
  Object.assign(body, { e: fresh, d: dropped + events.length - fresh.length });
}

/**
 * The long form of a compact batch (`CollectBatch` once the schema has accepted it); any other body
 * as it is. With the collector's clock (`now`), stale events are dropped and counted (`dropStale`).
 */
export function expandCompact(body: unknown, now?: number): unknown {
  if (!isCompact(body)) return body;
  let batch: Json = body as Json;
  if (now !== undefined) {
    batch = { ...batch };
    dropStale(batch, now);
  }
  const out: Json = {};
  for (const [k, v] of Object.entries(batch)) {
    if (absent(v)) continue;
    const name = BATCH_KEYS[k] ?? k;
    out[name] = name === 'events' && Array.isArray(v) ? v.map(expandEvent) : v;
  }
  return out;
}
