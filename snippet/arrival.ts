// An arrival from a plain email link: `utm_*` attribute the campaign, `ms_cat` tags the first page
// view's category, `ms_t` is a signed identity token for the first batch.
import type { Utm } from '../shared/wire.ts';

const url = new URL(location.href);
const q = url.searchParams;

/** The campaign, without the `utm_` prefix; only the five names the collector knows. */
export let utm: Utm | undefined;
for (const k of ['source', 'medium', 'campaign', 'term', 'content'] as const) {
  const v = q.get('utm_' + k);
  if (v) (utm ||= {})[k] = v;
}

export const arrivalCategory = q.get('ms_cat');

export const arrivalToken = q.get('ms_t') || undefined;

/**
 * Removes `ms_t` from the address bar: the token must not stay in the URL (bookmarks, shared links,
 * referrers, the recorded page url). Runs before the history API is wrapped, so it is no navigation.
 * The other parameters keep their values (the query string is re-encoded as a form would encode it).
 */
export const cleanUrl = (): void => {
  if (arrivalToken) {
    q.delete('ms_t');
    history.replaceState(history.state, '', url);
  }
};
