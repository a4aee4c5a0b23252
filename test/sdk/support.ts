/**
 * The SDK's tests run against a real collector: the test app (a real database, a settable clock)
 * behind a real HTTP server on a free port, asked over the network with the platform's `fetch`.
 */
import type { RateLimits } from '../../collector/http/routes/limits.ts';
import { serve, type ServerType } from '@hono/node-server';
import type { Hono } from 'hono';
import type { ConfigFile } from '../../collector/config/config.ts';
import { testApp } from '../helpers.ts';

export const SITE = 'shop';
export const KEY = 'sdk-test-api-key-0123456789';

export const CONFIG: ConfigFile = {
  sites: {
    [SITE]: {
      apiKeys: [KEY],
      origins: ['https://shop.example'],
      allowLocalhost: true,
      allowAutomation: true,
      categories: [{ path: '/cameras/*', category: 'cameras' }],
    },
  },
};

/** Serves `fetch` (a Hono app's) on 127.0.0.1 and a free port; its URL and how to stop it. */
export async function listen(
  fetch: (req: Request) => Response | Promise<Response>,
): Promise<{ url: string; close: () => Promise<void> }> {
  const server = await new Promise<ServerType>((ok) => {
    const s = serve({ fetch, port: 0, hostname: '127.0.0.1' }, () => ok(s));
  });
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((done) => {
        (server as { closeAllConnections?: () => void }).closeAllConnections?.();
        server.close(() => done());
      }),
  };
}

/** A test collector with the SDK's site, listening; `close` stops the server and the storage. */
export async function listeningCollector(limits?: RateLimits) {
  const t = await testApp({ config: CONFIG, ...(limits ? { limits } : {}) });
  const l = await listen((req) => (t.app as Hono).fetch(req));
  return {
    ...t,
    url: l.url,
    close: async () => {
      await l.close();
      await t.close();
    },
  };
}
