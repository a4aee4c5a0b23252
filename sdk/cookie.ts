/**
 * The visitor cookie on a site's server (cookie mode, docs/server.md): the id a returning visitor's
 * request carries in `ms_vid`, or a new one, and the `Set-Cookie` value that keeps it. The snippet
 * with `data-cookie` adopts an id the server set first, so the server and the browser agree.
 * Web-standard only (a `Request`, or a Cookie header's text).
 */
import { ID_PATTERN as ID } from '../shared/ids.ts';
import { VISITOR_COOKIE } from '../shared/visitor-cookie.ts';

export { VISITOR_COOKIE } from '../shared/visitor-cookie.ts';

/**
 * A new visitor id in the snippet's format (snippet/ids.ts): four random 32-bit numbers from the
 * platform's CSPRNG in decimal, joined by `_` (128 bits).
 */
export const newVisitorId = (): string => crypto.getRandomValues(new Uint32Array(4)).join('_');

/** The visitor id of a Cookie header: the first `ms_vid` whose value is a valid id, else null. */
export function visitorOfCookies(header: string | null | undefined): string | null {
  if (!header) return null;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0 || part.slice(0, eq).trim() !== VISITOR_COOKIE.name) continue;
    const value = part.slice(eq + 1).trim();
    if (ID.test(value)) return value;
  }
  return null;
}

/** The `Set-Cookie` value keeping `visitor` for the cookie's whole lifetime (`Secure` when `secure`). */
export function visitorCookie(visitor: string, secure: boolean): string {
  if (!ID.test(visitor)) throw new TypeError('a visitor id has 1–64 letters, digits, - and _');
  return `${VISITOR_COOKIE.name}=${visitor}; Path=/; Max-Age=${VISITOR_COOKIE.maxAgeSeconds}; SameSite=Lax${secure ? '; Secure' : ''}`;
}

/** What a request says of the visitor (`visitorOf`). */
export interface RequestVisitor {
  /** The visitor id: the cookie's, or a new one; null when the request asks not to be tracked. */
  visitor: string | null;
  /** The id was made for this request (no valid cookie came with it). */
  minted: boolean;
  /** The `Set-Cookie` value to send with the answer, or null (tracking refused, or `setCookie: false`). */
  setCookie: string | null;
}

export interface VisitorOptions {
  /**
   * Whether the cookie gets `Secure`. Default: the request's URL is https, or a proxy in front
   * said so (`X-Forwarded-Proto: https`).
   */
  secure?: boolean;
  /** False: read an existing cookie only; never mint an id nor set the cookie. Default true. */
  setCookie?: boolean;
  /**
   * Honor Do-Not-Track and Global Privacy Control as the snippet does: no id, no cookie
   * (the snippet removes its cookie then too). Default true; false for a site whose visitors
   * consented otherwise (the collector's `consent` site setting).
   */
  privacySignals?: boolean;
}

/** The headers and URL a request has, as `Request` (fetch) and Hono's `c.req` have them. */
export interface RequestLike {
  url: string;
  headers: { get(name: string): string | null };
}

/** Whether the request asks not to be tracked (`Sec-GPC: 1` or `DNT: 1`). */
export const privacySignal = (headers: RequestLike['headers']): boolean =>
  headers.get('sec-gpc') === '1' || headers.get('dnt') === '1';

/** The request's visitor and the cookie to answer with (see `RequestVisitor`). */
export function visitorOf(req: RequestLike, opts: VisitorOptions = {}): RequestVisitor {
  if ((opts.privacySignals ?? true) && privacySignal(req.headers))
    return { visitor: null, minted: false, setCookie: null };
  const known = visitorOfCookies(req.headers.get('cookie'));
  if (opts.setCookie === false) return { visitor: known, minted: false, setCookie: null };
  const secure =
    opts.secure ??
    (req.url.startsWith('https:') ||
      req.headers.get('x-forwarded-proto')?.split(',')[0]?.trim() === 'https');
  const visitor = known ?? newVisitorId();
  // Set on every answer, not only the first: the lifetime starts again, as the snippet's does.
  return { visitor, minted: known === null, setCookie: visitorCookie(visitor, secure) };
}
