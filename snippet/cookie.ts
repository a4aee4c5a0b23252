// ms.cookie.js: cookie mode (`data-cookie` on the tag). ms.js imports it from beside itself only on
// a page whose tag asks for it (ids.ts), so a site without cookie mode never pays for it. The visitor
// id then also lives in a first-party cookie, which the site's own server can read on the first
// request of a returning visitor, and personalize the HTML it renders. Name and lifetime are shared
// with the server helpers (shared/visitor-cookie.ts).
import { LIMITS } from '../shared/limits.ts';
import { VISITOR_COOKIE } from '../shared/visitor-cookie.ts';

const { name, maxAgeSeconds } = VISITOR_COOKIE;

/**
 * ms.js calls this (as `c`: the two files are minified apart, so this name is their contract) with
 * its visitor id and whether it is off (opted out, or DNT/GPC without consent); it returns the id to
 * use. A valid id in the cookie wins, one the site's server set first included, so that the server
 * and the browser agree; a value outside the collector's id alphabet or length is ignored (a batch
 * with it would be refused). The cookie is written again on each page with its full lifetime, so an
 * active visitor's does not expire; once off it is removed instead, a server-set one too.
 * `Secure` on https only: a page on plain http could not set it. Where the page may not use cookies
 * (`document.cookie` throws in a sandboxed frame) it keeps ms.js's id and throws nothing: ms.js
 * sends its page-load batch once this has returned.
 */
export const c = (id: string, off: unknown): string => {
  try {
    const own =
      document.cookie.match(`(^|; )${name}=([\\w-]{1,${LIMITS.idLength}})(;|$)`)?.[2] || id;
    // biome-ignore lint/suspicious/noDocumentCookie: the Cookie Store API is missing in some browsers and on plain http
    document.cookie = `${name}=${own};Path=/;SameSite=Lax;Max-Age=${off ? 0 : maxAgeSeconds}${
      location.protocol == 'https:' ? ';Secure' : ''
    }`;
    return own;
  } catch {
    return id;
  }
};
