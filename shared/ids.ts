import { LIMITS } from './limits.ts';

/**
 * The collector's id alphabet and length (visitor, session, event and contact-side ids): one test
 * for the collector's fast paths and the server SDK. A value outside it is not an id the collector
 * accepts. (The snippet writes its own, shorter, for bytes: snippet/cookie.ts.)
 */
export const ID_PATTERN = new RegExp(`^[A-Za-z0-9_-]{1,${LIMITS.idLength}}$`);
