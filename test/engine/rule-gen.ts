/**
 * Generated rules and event histories for property tests (engine/active.ts's prefilter): a
 * seeded generator, so a failure names a seed that reproduces it.
 */
import type { EngineEvent } from '../../collector/engine/index.ts';

/** mulberry32: small, seeded, good enough to vary test inputs. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const HOUR = 3_600_000;
const DAY = 86_400_000;
const pick = <T>(r: () => number, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)] as T;

export const TYPES = ['page_view', 'add_to_cart', 'purchase', 'click'] as const;
export const CATEGORIES = ['cameras', 'tv', 'books'] as const;
const WITHIN = ['1h', '1d', '3d', '7d', '14d'] as const;

function event(r: () => number): Record<string, unknown> {
  const e: Record<string, unknown> = {};
  if (r() < 0.7) e.type = r() < 0.2 ? [pick(r, TYPES), pick(r, TYPES)] : pick(r, TYPES);
  if (r() < 0.5) e.category = pick(r, CATEGORIES);
  if (r() < 0.1) e.value = { gte: 100 };
  return e;
}

function countOp(r: () => number): Record<string, unknown> {
  const n = Math.floor(r() * 4);
  switch (Math.floor(r() * 8)) {
    case 0:
      return { eq: n };
    case 1:
      return { ne: n };
    case 2:
      return { gt: n };
    case 3:
      return { gte: n };
    case 4:
      return { lt: n };
    case 5:
      return { lte: n };
    case 6:
      return { between: [n, n + Math.floor(r() * 3)] };
    default:
      return { in: [n, Math.floor(r() * 4)] };
  }
}

/** A random condition: counts and sequences (what prunes), facts, and all/any/not around them. */
export function condition(r: () => number, depth = 0): unknown {
  const k = r();
  if (depth < 3 && k < 0.35) {
    const kind = pick(r, ['all', 'all', 'any', 'not'] as const);
    if (kind === 'not') return { not: condition(r, depth + 1) };
    const n = 1 + Math.floor(r() * 3);
    return { [kind]: Array.from({ length: n }, () => condition(r, depth + 1)) };
  }
  if (k < 0.65) return { count: { ...event(r), within: pick(r, WITHIN) }, ...countOp(r) };
  if (k < 0.85) {
    const within = pick(r, ['3d', '7d', '14d'] as const);
    const seq: Record<string, unknown> = {
      did: { ...event(r), within },
      without: event(r),
    };
    if (r() < 0.5) seq.for = pick(r, ['1h', '24h', '2d']);
    return { sequence: seq };
  }
  return pick(r, [
    { fact: 'lifecycle', in: ['newbie', 'prospect'] },
    { fact: 'days.sinceLastSeen', lt: 5 },
    { fact: 'purchases.count', gte: 1 },
    { fact: 'engagement', ne: 'cold' },
    { fact: 'affinity.cameras', gte: 0.3 },
    { fact: 'known', eq: false },
  ]);
}

/**
 * A visitor's events over the 30 days before `now` (some only long ago, a few exactly at a
 * window's edge or just inside it, a few in the future), oldest first.
 */
export function history(r: () => number, now: number, id: string): EngineEvent[] {
  const n = 1 + Math.floor(r() * 12);
  const lastAgo = pick(r, [
    0,
    HOUR,
    DAY - 1,
    DAY,
    3 * DAY,
    7 * DAY - 1,
    7 * DAY,
    7 * DAY + 1,
    10 * DAY,
    14 * DAY,
    20 * DAY,
  ]);
  const out: EngineEvent[] = [];
  for (let i = 0; i < n; i++) {
    const ago = i === 0 ? lastAgo : lastAgo + Math.floor(r() * (r() < 0.5 ? 2 * DAY : 10 * DAY));
    const type = pick(r, TYPES);
    out.push({
      ts: now - ago + (r() < 0.03 ? HOUR : 0),
      type,
      id: `${id}-${i}`,
      category: r() < 0.85 ? pick(r, CATEGORIES) : null,
      value: type === 'purchase' || type === 'add_to_cart' ? Math.floor(r() * 300) : null,
    });
  }
  return out.sort((a, b) => a.ts - b.ts);
}
