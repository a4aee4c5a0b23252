/**
 * The synthetic workload, shared by the seeder and the load generator so both speak of the same
 * visitors: deterministic visitor ids (visitor i is the same id in every process), and realistic
 * browser events (page views with a URL, referrer, session and category; clicks; carts).
 */
import { createHash, randomBytes } from 'node:crypto';

export const SITE = 'demo';
export const CATEGORIES = [
  'cameras',
  'lenses',
  'sports',
  'womens-apparel',
  'mens-apparel',
  'home',
  'books',
  'toys',
];
const DAY = 86_400_000;

/** Visitor `i`'s id: 21 url-safe characters, like the snippet's nanoid. */
export function visitorId(i) {
  return createHash('sha1').update(`bench-visitor-${i}`).digest('base64url').slice(0, 21);
}

/** How many events the seeder gives visitor `i`: 1 to 20, 10.5 on average. */
export function eventsOfVisitor(i) {
  return 1 + ((i * 7919) % 20);
}

/** Visitors the seeder needs for `total` events of `eventsOfVisitor` each. */
export function visitorsFor(total) {
  let n = 0;
  for (let sum = 0; sum < total; n++) sum += eventsOfVisitor(n);
  return n;
}

/** Visitor `i`'s events when `total` events are spread evenly over `visitors` (the deep history). */
export function eventsSpread(i, total, visitors) {
  return Math.floor(total / visitors) + (i < total % visitors ? 1 : 0);
}

/** Unique event ids: a random prefix per generator, then a counter. */
export function idGenerator() {
  const prefix = randomBytes(6).toString('base64url');
  let n = 0;
  return () => prefix + (n++).toString(36).padStart(9, '0');
}

const pick = (rnd, list) => list[Math.floor(rnd() * list.length)];

/** A small fast PRNG (mulberry32), seeded, so runs draw the same sequences. */
export function prng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * One event as the snippet sends it. `k` is its position in a visit: the first is a page view of a
 * full load with a referrer; then mostly page views, some clicks, now and then an add-to-cart.
 * `session` undefined: none sent (JSON.stringify leaves the key out).
 */
export function wireEvent(nextId, rnd, ts, session, k) {
  const category = pick(rnd, CATEGORIES);
  const url = `https://shop.example/${category}/item-${Math.floor(rnd() * 5000)}?color=black`;
  const r = k === 0 ? 0 : rnd();
  if (r < 0.7) {
    const e = {
      id: nextId(),
      type: 'page_view',
      ts,
      session,
      url,
      category,
      nav: k === 0 ? 'load' : 'spa',
    };
    if (k === 0) e.ref = 'https://www.google.com/';
    return e;
  }
  if (r < 0.93) {
    return {
      id: nextId(),
      type: 'click',
      ts,
      session,
      url,
      category,
      target: `https://shop.example/${category}/`,
      outbound: false,
    };
  }
  return {
    id: nextId(),
    type: 'add_to_cart',
    ts,
    session,
    url,
    category,
    value: Math.round(rnd() * 50000) / 100,
    currency: 'EUR',
  };
}

/**
 * A browser batch body (`POST /v1/collect`) of `size` events for `visitor`, at time `now`. Like the
 * snippet's, its events carry no session: the collector assigns one at ingest, and that lookup is
 * part of what ingest costs.
 */
export function collectBody(nextId, rnd, visitor, size, now) {
  const events = [];
  for (let k = 0; k < size; k++) events.push(wireEvent(nextId, rnd, now, undefined, k));
  return JSON.stringify({ site: SITE, visitor, events });
}

/**
 * Visitor `i`'s seeded history: `n` events (by default `eventsOfVisitor(i)`) spread over the last
 * `days` days (the collector clamps older client times anyway), oldest first, in visits of up to
 * 5 events. A long history is bounded in the profile all the same: its window log by `windowCap`
 * (200 entries; `windowDays` is 30) and its scores by `maxCategories`.
 */
export function seededHistory(nextId, rnd, i, now, n = eventsOfVisitor(i), days = 7) {
  const times = [];
  for (let k = 0; k < n; k++) times.push(now - Math.floor(rnd() * days * DAY));
  times.sort((a, b) => a - b);
  const out = [];
  let session = nextId();
  for (let k = 0; k < n; k++) {
    if (k % 5 === 0) session = nextId();
    out.push(wireEvent(nextId, rnd, times[k], session, k % 5));
  }
  return out;
}
