/**
 * Reads a V8 `.cpuprofile` (node --cpu-prof): where the samples fall, per function (self time,
 * and total time including callees) and per area of the code (SQLite, JSON, validation, HTTP…).
 */

/** The area a frame's code belongs to, from its URL and name. */
export function areaOf(frame) {
  const { url, functionName: fn } = frame;
  if (fn === '(garbage collector)') return 'gc';
  if (fn === '(idle)') return 'idle';
  if (fn === '(program)' || fn === '(root)') return 'program';
  if (url.includes('better-sqlite3')) return 'sqlite';
  if (url.includes('drizzle-orm')) return 'drizzle';
  if (url.includes('/zod/')) return 'zod';
  if (url.includes('@hono/node-server')) return 'node-server';
  if (url.includes('/hono/')) return 'hono';
  if (url.includes('prom-client')) return 'prom-client';
  if (url.startsWith('node:')) return 'node';
  if (url.includes('/dist/collector.mjs') || url.includes('/collector/')) return 'collector';
  if (url === '' && /^(stringify|parse)$/.test(fn)) return 'json';
  if (url === '') return 'native';
  return 'other';
}

const keyOf = (f) =>
  `${f.functionName || '(anonymous)'} ${f.url.replace(/^.*\/node_modules\//, '').replace(/^file:\/\/.*\/(dist|collector)\//, '$1/')}:${f.lineNumber + 1}`;

export function summarizeProfile(profile, top = 40) {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const selfMs = new Map();
  const totalMs = new Map();
  const areas = {};
  let all = 0;
  let idle = 0;
  const samples = profile.samples ?? [];
  const deltas = profile.timeDeltas ?? [];
  for (let i = 0; i < samples.length; i++) {
    // A sample's time is the delta to the next one.
    const ms = (deltas[i + 1] ?? 0) / 1000;
    const node = byId.get(samples[i]);
    if (!node) continue;
    all += ms;
    const area = areaOf(node.callFrame);
    if (area === 'idle') idle += ms;
    areas[area] = (areas[area] ?? 0) + ms;
    const k = keyOf(node.callFrame);
    selfMs.set(k, (selfMs.get(k) ?? 0) + ms);
    const seen = new Set();
    for (let id = node.id; id !== undefined; id = parent.get(id)) {
      const kk = keyOf(byId.get(id).callFrame);
      if (seen.has(kk)) continue;
      seen.add(kk);
      totalMs.set(kk, (totalMs.get(kk) ?? 0) + ms);
    }
  }
  const busy = all - idle;
  const list = (m) =>
    [...m]
      .filter(([k]) => !k.startsWith('(root)') && !k.startsWith('(idle)'))
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([fn, ms]) => ({
        fn,
        ms: +ms.toFixed(1),
        busyPct: busy > 0 ? +((100 * ms) / busy).toFixed(1) : 0,
      }));
  return {
    ms: +all.toFixed(1),
    busyMs: +busy.toFixed(1),
    areas: Object.fromEntries(
      Object.entries(areas)
        .sort((a, b) => b[1] - a[1])
        .map(([k, v]) => [k, +v.toFixed(1)]),
    ),
    self: list(selfMs),
    total: list(totalMs),
  };
}

/** Text report; with `s.requests` (requests the process answered) each line also shows µs per request. */
export function formatProfile(s, top = 20) {
  const pct = (ms) => `${((100 * ms) / (s.busyMs || 1)).toFixed(1)}%`;
  const per = (ms) =>
    s.requests ? `${((ms * 1000) / s.requests).toFixed(1).padStart(6)} µs/req ` : '';
  const out = [
    `sampled ${s.ms.toFixed(0)} ms, busy (not idle) ${s.busyMs.toFixed(0)} ms${s.requests ? ` over ${s.requests} requests: ${per(s.busyMs).trim()}` : ''}`,
  ];
  out.push(
    'areas (share of busy time): ' +
      Object.entries(s.areas)
        .filter(([k]) => k !== 'idle')
        .map(([k, v]) => `${k} ${pct(v)}`)
        .join(', '),
  );
  out.push('self time:');
  for (const f of s.self.slice(0, top))
    out.push(`  ${String(f.busyPct).padStart(5)}%  ${per(f.ms)}${f.fn}`);
  out.push('total time (with callees):');
  for (const f of s.total.slice(0, top))
    out.push(`  ${String(f.busyPct).padStart(5)}%  ${per(f.ms)}${f.fn}`);
  return out.join('\n');
}
