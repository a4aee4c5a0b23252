/**
 * `microseg/express`: an Express middleware that puts the visitor and its segment on
 * `res.locals.microseg` before the page's handler runs, and sets the visitor cookie. Typed with the
 * few members it uses, so it needs no `@types/express` (Express 4 and 5). docs/server.md.
 */
import type { RequestLike } from './cookie.ts';
import { type MicrosegContext, type MiddlewareOptions, personalizeRequest } from './request.ts';

export type { MicrosegContext, MiddlewareOptions } from './request.ts';

/** The members of Express's `req` it reads. */
export interface ExpressRequest {
  /** `http` or `https` (`https` behind a TLS proxy when the app sets `trust proxy`). */
  protocol: string;
  originalUrl: string;
  headers: Record<string, string | string[] | undefined>;
}

/** The members of Express's `res` it uses. */
export interface ExpressResponse {
  locals: Record<string, unknown>;
  append(field: string, value: string): unknown;
}

export type NextFunction = (err?: unknown) => void;

/** As Express's `res.locals` holds it, for a handler's `res.locals.microseg as MicrosegLocals`. */
export type MicrosegLocals = MicrosegContext;

/** A Fetch-style view of an Express request: its URL (for https) and its headers. */
function requestLike(req: ExpressRequest): RequestLike {
  return {
    url: `${req.protocol}://${String(req.headers.host ?? 'localhost')}${req.originalUrl}`,
    headers: {
      get: (name) => {
        const v = req.headers[name.toLowerCase()];
        return v === undefined ? null : Array.isArray(v) ? v.join('; ') : v;
      },
    },
  };
}

export function microseg(
  opts: MiddlewareOptions,
): (req: ExpressRequest, res: ExpressResponse, next: NextFunction) => void {
  return (req, res, next) => {
    personalizeRequest(requestLike(req), opts).then(({ context, setCookie }) => {
      res.locals.microseg = context;
      if (setCookie) res.append('Set-Cookie', setCookie);
      next();
    }, next);
  };
}
