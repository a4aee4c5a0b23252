/**
 * readText: the collect body read straight from the Node request under a real server, and from
 * the standard body under app.request(), with the same limit and the same decoding.
 */
import { serve, type ServerType } from '@hono/node-server';
import { Hono } from 'hono';
import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readText } from '../../collector/http/body.ts';

const MAX = 64;
const app = new Hono();
app.post('/echo', async (c) => {
  const text = await readText(c, MAX);
  return text === null ? c.json({ tooLarge: true }, 413) : c.json({ text });
});
app.onError((err, c) => c.json({ error: String(err.message) }, 400));

let server: ServerType;
let port = 0;
beforeAll(async () => {
  server = await new Promise<ServerType>((ok) => {
    const s = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, () => ok(s));
  });
  port = (server.address() as { port: number }).port;
});
afterAll(() => new Promise<void>((done) => server.close(() => done())));

/** A raw request: chunks written one by one, chunked unless a length is given. */
function post(chunks: Buffer[], headers: Record<string, string | number> = {}) {
  return new Promise<{ status: number; body: any }>((ok, fail) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        path: '/echo',
        method: 'POST',
        headers: { 'content-type': 'text/plain', ...headers },
      },
      (res) => {
        let body = '';
        res.on('data', (d) => (body += d));
        res.on('end', () => ok({ status: res.statusCode!, body: JSON.parse(body) }));
      },
    );
    req.on('error', fail);
    for (const c of chunks) req.write(c);
    req.end();
  });
}

describe('readText under @hono/node-server (from the Node request)', () => {
  it('joins chunks, a multi-byte character split between two of them included', async () => {
    const euro = Buffer.from('€'); // 3 bytes
    const res = await post([
      Buffer.from('a'),
      euro.subarray(0, 1),
      euro.subarray(1),
      Buffer.from('b'),
    ]);
    expect(res).toEqual({ status: 200, body: { text: 'a€b' } });
  });

  it('decodes as Request.text() does: bad bytes as U+FFFD, a leading BOM dropped', async () => {
    expect((await post([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('{}')])).body.text).toBe('{}');
    expect((await post([Buffer.from([0x61, 0xff, 0x62])])).body.text).toBe('a\ufffdb');
  });

  it('refuses a body over the limit, declared or sent in chunks, and the server stays up', async () => {
    const big = Buffer.alloc(MAX + 1, 'x');
    expect((await post([big], { 'content-length': big.length })).status).toBe(413);
    expect((await post([big.subarray(0, 40), big.subarray(40)])).status).toBe(413);
    expect((await post([Buffer.alloc(MAX, 'y')])).body.text).toBe('y'.repeat(MAX));
    expect((await post([Buffer.from('')])).body).toEqual({ text: '' });
  });

  it('answers nothing to a client that goes away mid-body, and keeps serving', async () => {
    await new Promise<void>((done) => {
      const req = request({
        host: '127.0.0.1',
        port,
        path: '/echo',
        method: 'POST',
        headers: { 'content-length': 50 },
      });
      req.on('error', () => done());
      req.write('only part of it');
      setTimeout(() => {
        req.destroy();
        done();
      }, 50);
    });
    expect((await post([Buffer.from('still here')])).body.text).toBe('still here');
  });
});

describe('readText under app.request() (the standard body)', () => {
  it('reads, limits and decodes the same way', async () => {
    const send = async (body: BodyInit) => {
      const res = await app.request('/echo', { method: 'POST', body });
      return { status: res.status, body: (await res.json()) as any };
    };
    expect(await send('a€b')).toEqual({ status: 200, body: { text: 'a€b' } });
    expect((await send(new Uint8Array([0xef, 0xbb, 0xbf, 0x7b, 0x7d]))).body.text).toBe('{}');
    expect((await send('x'.repeat(MAX + 1))).status).toBe(413);
    const chunked = new ReadableStream<Uint8Array>({
      start(c) {
        for (let i = 0; i < 3; i++) c.enqueue(new Uint8Array(30).fill(0x7a));
        c.close();
      },
    });
    const res = await app.request('/echo', {
      method: 'POST',
      body: chunked,
      duplex: 'half',
    } as RequestInit);
    expect(res.status).toBe(413);
  });
});
