/** Error answers: a machine-readable code and a human sentence, always JSON. */
import type { Context } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import type { ApiError } from '../../shared/wire.ts';

export function fail(c: Context, status: ContentfulStatusCode, error: string, message: string) {
  return c.json<ApiError>({ error, message }, status);
}

/**
 * The code of an error raised as an `HTTPException` (by Hono or by us), one per status, so a
 * client can tell a 413 from a 400 by the code alone, as it can for the routes' own refusals.
 */
const CODES: Record<number, string> = {
  400: 'bad_request',
  401: 'unauthorized',
  403: 'forbidden',
  404: 'not_found',
  405: 'method_not_allowed',
  408: 'body_timeout',
  411: 'length_required',
  413: 'body_too_large',
  415: 'unsupported_media_type',
  429: 'rate_limited',
  500: 'internal',
  503: 'unavailable',
};

/** The code of `status`; an unlisted one is named by its class (`client_error`, `server_error`). */
export function errorCode(status: number): string {
  return CODES[status] ?? (status >= 500 ? 'server_error' : 'client_error');
}
