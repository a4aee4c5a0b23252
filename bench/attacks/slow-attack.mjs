// Usage: npm run build && node bench/attacks/slow-attack.mjs [connections=1000] [seconds=15]
// Starts dist/collector.mjs with its defaults (rate limits on), opens N connections from
// 127.0.0.1 that send a /v1/collect body a byte a second, probes /healthz every 250 ms, and
// prints how many attack connections are still open at each second and the /healthz latencies.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = fileURLToPath(new URL('../..', import.meta.url));
const [n = '1000', secs = '15'] = process.argv.slice(2);
const dir = mkdtempSync(join(tmpdir(), 'h4-slow-'));
const child = spawn(
  process.execPath,
  [join(repo, 'dist/collector.mjs'), 'serve', '--port', '0', '--host', '127.0.0.1', '--no-demo'],
  {
    env: { ...process.env, MICROSEG_DB: join(dir, 'c.db'), LOG_LEVEL: 'error' },
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
const { port } = new URL(url);
const body = JSON.stringify({
  site: 'demo',
  visitor: 'slow',
  events: [{ id: 'e1', type: 'page_view', ts: 1, url: 'http://localhost/' }],
});
const socks = [];
const statuses = {};
const t0 = Date.now();
for (let i = 0; i < Number(n); i++) {
  const s = connect(Number(port), '127.0.0.1');
  const st = { open: true };
  s.on('connect', () =>
    s.write(
      `POST /v1/collect HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\nContent-Length: ${body.length}\r\n\r\n`,
    ),
  );
  let j = 0;
  const timer = setInterval(() => j < body.length && !s.destroyed && s.write(body[j++]), 1000);
  s.on('data', (d) => {
    const c = /^HTTP\/1\.1 (\d+)/.exec(d.toString())?.[1];
    if (c) statuses[c] = (statuses[c] ?? 0) + 1;
  });
  s.on('error', () => {});
  s.on('close', () => {
    st.open = false;
    clearInterval(timer);
  });
  socks.push({ s, st });
}
const health = [];
let stop = false;
(async () => {
  while (!stop) {
    const t = Date.now();
    try {
      const r = await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(5000) });
      health.push({ ms: Date.now() - t, status: r.status });
    } catch (e) {
      health.push({ ms: Date.now() - t, status: String(e.name) });
    }
    await new Promise((r) => setTimeout(r, 250));
  }
})();
for (let sec = 1; sec <= Number(secs); sec++) {
  await new Promise((r) => setTimeout(r, t0 + sec * 1000 - Date.now()));
  console.log(`t=${sec}s open=${socks.filter((x) => x.st.open).length}`);
}
stop = true;
const ms = health.map((h) => h.ms).sort((a, b) => a - b);
console.log('answers to the attack:', JSON.stringify(statuses));
console.log(
  `/healthz: ${health.length} probes, statuses ${JSON.stringify([...new Set(health.map((h) => h.status))])}, p50 ${ms[Math.floor(ms.length / 2)]} ms, max ${ms.at(-1)} ms`,
);
for (const x of socks) x.s.destroy();
child.kill('SIGKILL');
rmSync(dir, { recursive: true, force: true });
process.exit(0);
