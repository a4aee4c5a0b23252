/**
 * `microseg/hono`: a Hono middleware that puts the visitor and its segment on the context
 * (`c.var.microseg`) before the page's handler runs, and keeps the visitor cookie on the answer.
 * docs/server.md.
 */
import type { MiddlewareHandler } from 'hono';
import { type MicrosegContext, type MiddlewareOptions, personalizeRequest } from './request.ts';

export type { MicrosegContext, MiddlewareOptions } from './request.ts';

/** The middleware's context variables, for `new Hono<MicrosegEnv>()`. */
export type MicrosegEnv = { Variables: { microseg: MicrosegContext } };

export function microseg(opts: MiddlewareOptions): MiddlewareHandler<MicrosegEnv> {
  return async (c, next) => {
    const { context, setCookie } = await personalizeRequest(c.req.raw, opts);
    c.set('microseg', context);
    await next();
    // After the handler: on the answer it made, whichever way it made it.
    if (setCookie) c.header('Set-Cookie', setCookie, { append: true });
  };
}
