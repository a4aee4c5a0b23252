// Usage (root, mount allowed): npm run build && node bench/attacks/tmpfs-full.mjs
// Mounts a 3 MiB tmpfs, runs dist/collector.mjs with its database there, sends batches
// until one is not stored, prints that answer and /healthz, frees space, and checks recovery.
import { spawn, execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const repo = fileURLToPath(new URL('../..', import.meta.url));
const dir = '/tmp/h4-tmpfs-full';
mkdirSync(dir, { recursive: true });
execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=3m', 'tmpfs', dir]);
const child = spawn(
  process.execPath,
  [`${repo}/dist/collector.mjs`, 'serve', '--port', '0', '--host', '127.0.0.1', '--no-demo'],
  {
    env: {
      ...process.env,
      MICROSEG_DB: `${dir}/c.db`,
      LOG_LEVEL: 'error',
      MICROSEG_RATE_IP: '0',
      MICROSEG_RATE_VISITOR: '0',
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  },
);
try {
  const url = await new Promise((ok) => {
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
      const m = /collector on (http:\/\/\S+)/.exec(out);
      if (m) ok(m[1]);
    });
  });
  // Fill the rest of the file system with a ballast file, leaving ~64 KiB.
  const df = () =>
    execFileSync('df', ['-B1', '--output=avail', dir]).toString().split('\n')[1].trim();
  writeFileSync(`${dir}/ballast`, Buffer.alloc(Math.max(0, Number(df()) - 64 * 1024)));
  console.log('free bytes after ballast:', df());
  let n = 0;
  let res;
  for (; n < 500; n++) {
    const events = Array.from({ length: 20 }, (_, i) => ({
      id: `e${n}_${i}`,
      type: 'page_view',
      ts: Date.now(),
      url: `http://localhost/${'p'.repeat(1500)}/${n}/${i}`,
    }));
    res = await fetch(`${url}/v1/collect`, {
      method: 'POST',
      body: JSON.stringify({ site: 'demo', visitor: `v${n}`, events }),
    });
    if (res.status !== 200) break;
    await res.arrayBuffer();
  }
  console.log(
    `batch ${n}: ${res.status} Retry-After=${res.headers.get('retry-after')} ${await res.text()}`,
  );
  const h = await fetch(`${url}/healthz`);
  console.log(`/healthz: ${h.status} ${await h.text()}`);
  rmSync(`${dir}/ballast`);
  console.log('ballast removed, free bytes:', df());
  const again = await fetch(`${url}/v1/collect`, {
    method: 'POST',
    body: JSON.stringify({
      site: 'demo',
      visitor: 'after',
      events: [{ id: 'after1', type: 'page_view', ts: Date.now(), url: 'http://localhost/' }],
    }),
  });
  console.log(`after: collect ${again.status}; /healthz ${(await fetch(`${url}/healthz`)).status}`);
} finally {
  child.kill('SIGKILL');
  await new Promise((r) => child.once('exit', r));
  execFileSync('umount', [dir]);
  rmSync(dir, { recursive: true, force: true });
}
