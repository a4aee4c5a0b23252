/**
 * Traits (facts a backend, or for public ones the browser, sets on a profile: age band, region,
 * plan) and campaign attribution (first and last touch). Pure: the store keeps the results.
 */
import { z } from 'zod';
import { LIMITS } from '../../shared/limits.ts';
import type { Utm } from '../../shared/wire.ts';
import { reservedKeyOf } from '../ingest/reserved-keys.ts';

type TraitValue = string | number | boolean;
export type Traits = Record<string, TraitValue>;
/** A change of traits: a value sets, `null` removes. */
export type TraitPatch = Record<string, TraitValue | null>;

const traitName = z
  .string()
  .min(1)
  .max(LIMITS.propKeyLength)
  .regex(/^[A-Za-z][A-Za-z0-9_]*$/, 'a letter, then letters, digits and _');

const traitValue = z.union([
  z.string().max(LIMITS.propValueLength),
  z.number().finite(),
  z.boolean(),
  z.null(),
]);

/**
 * The raw object is checked first: the record alone would drop a `__proto__` key without a word
 * (and `constructor` would be refused by the name rule), so every reserved name is refused here,
 * the same way, with the key as the issue's path.
 */
export const traitPatchSchema = z
  .unknown()
  .superRefine((o, ctx) => {
    const reserved = reservedKeyOf(o);
    if (reserved !== undefined)
      ctx.addIssue({ code: 'custom', path: [reserved], message: 'reserved name' });
  })
  .pipe(z.record(traitName, traitValue))
  .refine((o) => Object.keys(o).length <= LIMITS.traitsKeys, `at most ${LIMITS.traitsKeys} traits`);

/** Applies a patch; the result is a fresh object without a prototype-bearing key. */
export function applyTraitPatch(current: Traits, patch: TraitPatch): Traits {
  const out: Traits = {};
  for (const [k, v] of Object.entries(current)) if (!Object.hasOwn(patch, k)) out[k] = v;
  for (const [k, v] of Object.entries(patch)) if (v !== null) out[k] = v;
  return out;
}

/** Too many traits after a patch: refused as a whole, so a profile never grows without bound. */
export function tooManyTraits(traits: Traits): boolean {
  return Object.keys(traits).length > LIMITS.traitsKeys;
}

/** A site's public trait names as a Set, built once per config (a reload brings new arrays). */
const publicSets = new WeakMap<readonly string[], ReadonlySet<string>>();

/** Splits a browser's patch into the traits the site marks public and the refused names. */
export function publicPatch(
  publicTraits: readonly string[],
  patch: TraitPatch,
): { patch: TraitPatch; refused: string[] } {
  let allowed = publicSets.get(publicTraits);
  if (!allowed) {
    allowed = new Set(publicTraits);
    publicSets.set(publicTraits, allowed);
  }
  const out: TraitPatch = {};
  const refused: string[] = [];
  for (const [k, v] of Object.entries(patch)) {
    if (allowed.has(k)) out[k] = v;
    else refused.push(k);
  }
  return { patch: out, refused };
}

/**
 * The visitor's country from a trusted proxy header (e.g. Cloudflare's `cf-ipcountry`): an
 * ISO 3166 alpha-2 code, upper case. `XX` (unknown) and `T1` (Tor) say nothing of a country.
 */
export function countryFromHeader(value: string | undefined): string | undefined {
  if (!value || !/^[A-Za-z]{2}$/.test(value)) return undefined;
  const code = value.toUpperCase();
  return code === 'XX' || code === 'T1' ? undefined : code;
}

/** The campaign of one event that carried one, and when. */
export interface Touch extends Utm {
  ts: number;
}

export interface Attribution {
  first: Touch | null;
  last: Touch | null;
}

/** First and last campaign touches of a batch (events with a `utm_campaign` or `utm_source`). */
export function touchesOf(
  events: readonly { ts: number; utm?: Utm | undefined; bot?: boolean | undefined }[],
): Attribution {
  let first: Touch | null = null;
  let last: Touch | null = null;
  for (const e of events) {
    if (e.bot || !e.utm || (!e.utm.campaign && !e.utm.source)) continue;
    const touch: Touch = { ...e.utm, ts: e.ts };
    if (!first || touch.ts < first.ts) first = touch;
    if (!last || touch.ts >= last.ts) last = touch;
  }
  return { first, last };
}

/** Combines two attributions of one person: the earlier first touch, the later last touch. */
export function mergeAttribution(a: Attribution, b: Attribution): Attribution {
  const pick = (x: Touch | null, y: Touch | null, later: boolean) =>
    !x ? y : !y ? x : later ? (y.ts >= x.ts ? y : x) : y.ts < x.ts ? y : x;
  return { first: pick(a.first, b.first, false), last: pick(a.last, b.last, true) };
}
