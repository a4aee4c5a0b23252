/** A real webhook receiver on 127.0.0.1 (random port) that records what it gets. */
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { verifySignature } from '../../collector/webhooks/sign.ts';
import { WEBHOOK_HEADERS, type WebhookPayload } from '../../shared/webhook.ts';

export interface Received {
  at: number;
  headers: IncomingHttpHeaders;
  raw: string;
  body: WebhookPayload;
  /** The signature checked with the test's secret. */
  valid: boolean;
}

/**
 * `answer` picks the status for the n-th request (1-based); 'hang' never answers; a promise
 * answers when it settles (a slow receiver).
 */
export async function startReceiver(
  secret: string,
  answer: (n: number) => number | 'hang' | Promise<number> = () => 200,
) {
  const got: Received[] = [];
  const waiters: (() => void)[] = [];
  let n = 0;
  const server = createServer((req, res) => {
    let raw = '';
    req.setEncoding('utf8');
    req.on('data', (d) => (raw += d));
    req.on('end', () => {
      n++;
      const h = req.headers;
      got.push({
        at: Date.now(),
        headers: h,
        raw,
        body: JSON.parse(raw) as WebhookPayload,
        valid: verifySignature(
          secret,
          h[WEBHOOK_HEADERS.timestamp] as string,
          raw,
          h[WEBHOOK_HEADERS.signature] as string,
        ),
      });
      for (const w of waiters.splice(0)) w();
      const status = answer(n);
      if (status === 'hang') return;
      void Promise.resolve(status).then((code) => {
        if (!res.destroyed)
          res.writeHead(code, { 'content-type': 'text/plain' }).end(code < 300 ? 'ok' : 'nope');
      });
    });
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
  return {
    url,
    got,
    /** Resolves once `count` requests have arrived (or rejects after `ms`). */
    async waitFor(count: number, ms = 5000) {
      const until = Date.now() + ms;
      while (got.length < count) {
        if (Date.now() > until)
          throw new Error(`receiver got ${got.length} of ${count} deliveries within ${ms} ms`);
        await new Promise<void>((ok) => {
          waiters.push(ok);
          setTimeout(ok, 50);
        });
      }
      return got;
    },
    close: () =>
      new Promise<void>((ok) => {
        server.closeAllConnections();
        server.close(() => ok());
      }),
  };
}
