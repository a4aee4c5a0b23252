/**
 * CPU time of process trees, from /proc: a collector started with workers, and the PostgreSQL
 * server (its postmaster and every backend), so the scale phase can say who used the cores.
 */
import { readdirSync, readFileSync } from 'node:fs';

const TICKS = 100;

/** [ppid, cpu seconds] of a live process, or null when it is gone. */
function stat(pid) {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
    // ppid is field 4 of stat(5), here 1; utime and stime fields 14 and 15, here 11 and 12.
    return [Number(f[1]), (Number(f[11]) + Number(f[12])) / TICKS];
  } catch {
    return null;
  }
}

/** The pids of `roots` and of all their descendants alive now. */
export function treePids(roots) {
  const children = new Map();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const s = stat(name);
    if (!s) continue;
    const list = children.get(s[0]) ?? [];
    list.push(Number(name));
    children.set(s[0], list);
  }
  const out = [];
  const stack = [...roots];
  while (stack.length) {
    const pid = stack.pop();
    out.push(pid);
    stack.push(...(children.get(pid) ?? []));
  }
  return out;
}

/**
 * CPU seconds used so far by the trees of `roots`, per pid (a process that ends between two
 * samples takes its time with it: compare samples of long-lived processes, as pooled backends are).
 */
export function treeCpu(roots) {
  const per = new Map();
  for (const pid of treePids(roots)) {
    const s = stat(pid);
    if (s) per.set(pid, s[1]);
  }
  return per;
}

/** Cores used between two `treeCpu` samples `seconds` apart, over the pids present in both. */
export function coresBetween(before, after, seconds) {
  let used = 0;
  for (const [pid, t] of after) used += t - (before.get(pid) ?? t);
  return used / seconds;
}

/** The postmaster pid of the server at `url` (its data directory's postmaster.pid), or null. */
export async function postmasterPid(url) {
  const { default: pg } = await import('pg');
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query('SHOW data_directory');
    const dir = rows[0]?.data_directory;
    return Number(readFileSync(`${dir}/postmaster.pid`, 'utf8').split('\n')[0]) || null;
  } catch {
    return null; // another machine, or not readable by this user: not measured
  } finally {
    await client.end();
  }
}
