/** Error answers: a machine-readable code and a human sentence, always JSON. */
import type { Context } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import type { ApiError } from '../../shared/wire.ts';

export function fail(c: Context, status: ContentfulStatusCode, error: string, message: string) {
  return c.json<ApiError>({ error, message }, status);
}
