// Usage: npm run build && node bench/attacks/metrics-flood.mjs [seconds=5]
// Collect latency (10 connections, autocannon) alone and while 50 other connections flood /metrics.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = fileURLToPath(new URL('../..', import.meta.url));
const [secs = '5'] = process.argv.slice(2);
const autocannon = createRequire(join(repo, 'package.json'))('autocannon');
const TOKEN = 'flood-metrics-token-0123456789';
const dir = mkdtempSync(join(tmpdir(), 'h4-flood-'));
const child = spawn(
  process.execPath,
  [join(repo, 'dist/collector.mjs'), 'serve', '--port', '0', '--host', '127.0.0.1', '--no-demo'],
  {
    env: {
      ...process.env,
      MICROSEG_DB: join(dir, 'c.db'),
      LOG_LEVEL: 'error',
      MICROSEG_RATE_IP: '0',
      MICROSEG_RATE_VISITOR: '0',
      MICROSEG_CONNECTIONS_PER_IP: '0',
      MICROSEG_METRICS_TOKEN: TOKEN,
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  },
);
const url = await new Promise((ok) => {
  let out = '';
  child.stdout.on('data', (d) => {
    out += d;
    const m = /collector on (http:\/\/\S+)/.exec(out);
    if (m) ok(m[1]);
  });
});
let n = 0;
const collect = () =>
  autocannon({
    url: `${url}/v1/collect`,
    connections: 10,
    duration: Number(secs),
    requests: [
      {
        method: 'POST',
        setupRequest: (r) => ({
          ...r,
          body: JSON.stringify({
            site: 'demo',
            visitor: `v${n % 500}`,
            events: [
              { id: `e${n++}`, type: 'page_view', ts: Date.now(), url: 'http://localhost/' },
            ],
          }),
        }),
      },
    ],
  });
const flood = () =>
  autocannon({
    url: `${url}/metrics`,
    connections: 50,
    duration: Number(secs),
    headers: { authorization: `Bearer ${TOKEN}` },
  });
const alone = await collect();
const [under, f] = await Promise.all([collect(), flood()]);
console.log(
  `collect alone: p50 ${alone.latency.p50} ms, p99 ${alone.latency.p99} ms, ${alone.requests.average} req/s`,
);
console.log(
  `collect under a /metrics flood: p50 ${under.latency.p50} ms, p99 ${under.latency.p99} ms, ${under.requests.average} req/s;`,
  `flood ${f.requests.average} req/s, statuses 2xx ${f['2xx']} non2xx ${f.non2xx}`,
);
child.kill('SIGKILL');
rmSync(dir, { recursive: true, force: true });
