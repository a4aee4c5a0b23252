/** A collector app with webhooks on, on a real SQLite file, and the camera-intent site config. */
import { parseConfig, type ConfigFile } from '../../collector/config/config.ts';
import { startWebhooks, type Webhooks } from '../../collector/webhooks/index.ts';
import { collectRequest, ev, testApp } from '../helpers.ts';

export const SECRET = 'test-webhook-secret-0123456789';
export const API_KEY = 'test-api-key-0123456789';

/** "≥ 3 camera page views and no purchase within 7 days" — the camera-intent audience of docs/triggers.md. */
export const CAMERA_INTENT = {
  when: {
    all: [
      { count: { type: 'page_view', category: 'cameras', within: '7d' }, gte: 3 },
      { count: { type: 'purchase', within: '7d' }, eq: 0 },
    ],
  },
};

export function shopConfig(url: string, extra: Record<string, unknown> = {}): ConfigFile {
  return {
    sites: {
      shop: {
        allowLocalhost: true,
        allowAutomation: true,
        apiKeys: [API_KEY],
        categories: [{ path: '/cameras/*', category: 'cameras' }],
        rules: { 'camera-intent': CAMERA_INTENT },
        webhooks: [
          { segment: 'camera-intent', on: 'enter', url, secret: SECRET },
          { segment: 'camera-intent', on: 'exit', url, secret: SECRET },
        ],
        ...extra,
      },
    },
    // A short lease: a collector killed mid-send (restart.test.ts) has its rows taken over soon
    // on PostgreSQL, where they wait out the dead one's lease.
    delivery: { backoffMs: 20, maxBackoffMs: 100, pollMs: 50, timeoutMs: 1000, leaseMs: 1000 },
  } as ConfigFile;
}

export async function triggersApp(file: ConfigFile, opts: { now?: number } = {}) {
  const t = await testApp({ config: file, ...opts });
  const config = parseConfig(file);
  const hooks: Webhooks = startWebhooks(t.storage, config, { now: Date.now });
  return {
    ...t,
    config,
    hooks,
    async collect(visitor: string, over: Parameters<typeof ev>[0]) {
      const res = await t.app.request(
        collectRequest({ site: 'shop', visitor, events: [ev({ ts: t.clock.now, ...over })] }),
      );
      if (res.status !== 200)
        throw new Error(`collect answered ${res.status}: ${await res.text()}`);
      return (await res.json()) as { segment: { segments: string[]; segment: string } };
    },
    api(path: string, init: RequestInit = {}) {
      return t.app.request(`http://localhost:8787${path}`, {
        ...init,
        headers: { authorization: `Bearer ${API_KEY}`, ...init.headers },
      });
    },
    async close() {
      await hooks.stop();
      await t.close();
    },
  };
}
