/**
 * What the middlewares share: a page request's visitor (its cookie, or a new id) and segment,
 * read within the client's time budget, and the cookie to answer with.
 */
import { type Client, emptySegment, type SegmentRead } from './client.ts';
import { type RequestLike, type VisitorOptions, visitorOf } from './cookie.ts';

/** What a middleware puts on the request's context (`c.var.microseg`, `res.locals.microseg`). */
export interface MicrosegContext extends SegmentRead {
  /** The visitor id (the cookie's or a new one); null under DNT/GPC, then the segment is empty. */
  visitor: string | null;
}

export interface MiddlewareOptions {
  /** The client to read segments with: one per process, so its cache serves every request. */
  client: Client;
  /** The visitor cookie's options (`secure`, `setCookie: false`, `privacySignals`). */
  cookie?: VisitorOptions;
}

/** The request's visitor and segment, and the `Set-Cookie` value to send (or null). */
export async function personalizeRequest(
  req: RequestLike,
  opts: MiddlewareOptions,
): Promise<{ context: MicrosegContext; setCookie: string | null }> {
  const { visitor, minted, setCookie } = visitorOf(req, opts.cookie);
  // A new id, or none, has no segment yet: nothing to ask the collector.
  const read: SegmentRead =
    visitor === null || minted
      ? { segment: emptySegment(opts.client.site, visitor ?? ''), source: 'empty' }
      : await opts.client.readSegment(visitor);
  return { context: { ...read, visitor }, setCookie };
}
