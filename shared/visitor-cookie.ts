/**
 * Cookie mode (`data-cookie` on the script tag): the visitor id also lives in a first-party cookie,
 * so a site's server can read it from the first request of a returning visitor and personalize the
 * HTML it renders. The snippet and the server helpers (`microseg/client`) share these constants.
 */
export const VISITOR_COOKIE = {
  /** The cookie's name. Its value is a visitor id of the collector's id alphabet (`[A-Za-z0-9_-]`, at most `LIMITS.idLength`). */
  name: 'ms_vid',
  /** Lifetime in seconds (400 days, the longest Chromium keeps a cookie). */
  maxAgeSeconds: 400 * 24 * 60 * 60,
} as const;
