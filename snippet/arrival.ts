// An arrival from a plain email link: `ms_t` is a signed identity token for the first batch. The
// link's `utm_*` and `ms_cat` need nothing here: they stay in the address bar, so the first page
// view's `url` carries them and the collector reads them from it (collector/ingest/arrival.ts).

const url = new URL(location.href);
const q = url.searchParams;

export const arrivalToken = q.get('ms_t');

/**
 * Removes `ms_t` from the address bar: the token must not stay in the URL (bookmarks, shared links,
 * referrers, the recorded page url). Runs before the first page view reads the URL and before the
 * history API is wrapped, so it is no navigation. The other parameters keep their values (the query
 * string is re-encoded as a form would encode it).
 */
export const cleanUrl = (): void => {
  if (arrivalToken) {
    q.delete('ms_t');
    history.replaceState(history.state, '', url);
  }
};
