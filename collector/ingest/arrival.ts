/**
 * Campaign parameters read from a page view's own URL on the collector, as Plausible does: the
 * snippet sends the page URL anyway, so parsing `utm_*` and `ms_cat` here costs the snippet no
 * bytes. (`ms_t`, the identity token, never reaches this point: the snippet removes it from the
 * address bar before the page view is built and sends it as the batch's `token`.)
 */
import { LIMITS } from '../../shared/limits.ts';
import type { Utm } from '../../shared/wire.ts';

const UTM_KEYS = ['source', 'medium', 'campaign', 'term', 'content'] as const;

export interface Arrival {
  utm?: Utm;
  /** `ms_cat`: the category an email link tags the landing page with. */
  category?: string;
}

/** The campaign parameters of a URL; empty when it has none (or is not a URL). */
export function arrivalOf(url: string | undefined): Arrival {
  // Most page views carry neither: skip the URL parser for them.
  if (!url || !(url.includes('utm_') || url.includes('ms_cat='))) return {};
  let params: URLSearchParams;
  try {
    params = new URL(url).searchParams;
  } catch {
    return {};
  }
  const out: Arrival = {};
  const utm: Utm = {};
  for (const k of UTM_KEYS) {
    const v = params.get(`utm_${k}`);
    if (v) utm[k] = v.slice(0, LIMITS.propValueLength);
  }
  if (Object.keys(utm).length) out.utm = utm;
  const cat = params.get('ms_cat');
  if (cat && cat.length <= LIMITS.categoryLength) out.category = cat;
  return out;
}
