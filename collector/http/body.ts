/**
 * A request body as text, at most `max` bytes. Under @hono/node-server it is read from the Node
 * request itself: `c.req.text()` would first build a full WHATWG Request (an AbortController,
 * a ReadableStream over the socket), about a third of the cost of a small POST. Elsewhere
 * (`app.request()` in tests) it streams the standard body. Both decode as `Request.text()`
 * does: UTF-8, bad bytes as U+FFFD, a leading BOM dropped.
 */
import type { IncomingMessage } from 'node:http';
import type { Context } from 'hono';
import { HTTPException } from 'hono/http-exception';
import { type Failure, failure, type Result, success } from '../result.ts';

/** The body did not arrive in full within its deadline. */
export class BodyTimeout extends Error {}

/**
 * The body, or null when it is larger than `max` bytes (declared or sent). With `timeoutMs`
 * (> 0), a body still incomplete that long after reading began throws BodyTimeout: a client
 * trickling a byte a second must not hold a connection, and its share of the server, for minutes.
 */
export async function readText(c: Context, max: number, timeoutMs = 0): Promise<string | null> {
  const incoming = (c.env as { incoming?: IncomingMessage } | undefined)?.incoming;
  // Untouched so far: nothing (a middleware, a Request built from it) has started reading it.
  if (
    incoming &&
    typeof incoming.on === 'function' &&
    incoming.readableFlowing === null &&
    !incoming.readableEnded
  ) {
    return readIncoming(incoming, max, timeoutMs);
  }
  return readStandard(c.req.raw, max);
}

/** A body that cannot be read as JSON: too large (413), too slow (408) or not JSON (400). */
export type BodyRefusal = Failure<'body_too_large' | 'invalid_json' | 'body_timeout'> & {
  status: 400 | 408 | 413;
};

export type JsonBody = Result<unknown, BodyRefusal>;

/** A route whose middleware read the body first finds it in `c.var.read`. */
export type BodyEnv = { Variables: { read: JsonBody } };

/** The body parsed as JSON (at most `max` bytes, within `timeoutMs` when > 0), or why not. */
export async function readJson(c: Context, max: number, timeoutMs = 0): Promise<JsonBody> {
  let text: string | null;
  try {
    text = await readText(c, max, timeoutMs);
  } catch (err) {
    if (!(err instanceof BodyTimeout)) throw err;
    // Closed after the answer: kept open, the server would go on reading the trickle to reuse it.
    c.header('Connection', 'close');
    return { ...failure('body_timeout', err.message), status: 408 };
  }
  if (text === null)
    return { ...failure('body_too_large', `the body is larger than ${max} bytes`), status: 413 };
  try {
    return success(JSON.parse(text));
  } catch {
    return { ...failure('invalid_json', 'the body is not valid JSON'), status: 400 };
  }
}

function decode(bytes: Uint8Array): string {
  const text = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8');
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}

function readIncoming(
  incoming: IncomingMessage,
  max: number,
  timeoutMs: number,
): Promise<string | null> {
  const declared = Number(incoming.headers['content-length']);
  if (declared > max) return Promise.resolve(null);
  return new Promise((ok, fail) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let settled = false;
    const timer =
      timeoutMs > 0
        ? setTimeout(() => {
            settle();
            fail(new BodyTimeout(`the request body did not arrive within ${timeoutMs} ms`));
          }, timeoutMs)
        : undefined;
    const settle = () => {
      settled = true;
      clearTimeout(timer);
      // Over the limit, the server drains the rest after the answer. The error listener stays:
      // an error without one would throw.
      incoming.off('data', onData).off('end', onEnd).off('close', cut);
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size <= max) return void chunks.push(chunk);
      settle();
      ok(null);
    };
    const onEnd = () => {
      settle();
      const only = chunks.length === 1 ? chunks[0] : undefined;
      ok(decode(only ?? Buffer.concat(chunks, size)));
    };
    // Before the end: the client went away.
    const cut = () => {
      if (settled) return;
      settle();
      fail(new HTTPException(400, { message: 'the request body ended early' }));
    };
    incoming.on('data', onData).on('end', onEnd).on('error', cut).on('close', cut);
  });
}

async function readStandard(req: Request, max: number): Promise<string | null> {
  if (!req.body) return '';
  const declared = req.headers.get('content-length');
  if (declared !== null && Number(declared) > max) return null;
  const reader = req.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > max) {
      await reader.cancel();
      return null;
    }
    chunks.push(value);
  }
  return decode(Buffer.concat(chunks, size));
}
