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

/* ---------- a site's audience over weeks (`microseg seed`) ---------- */

/** A 32-bit mix of two numbers: visitor `i` of seed `seed` draws its own sequence. */
const mix = (a, b) => Math.imul((a ^ 0x9e3779b9) >>> 0, 2654435761) ^ Math.imul(b + 1, 0x85ebca6b);

/** Visitor `i`'s id in the audience of `seed`: 21 url-safe characters, like the snippet's nanoid. */
export function audienceVisitorId(seed, i) {
  return createHash('sha1').update(`seed-${seed}-visitor-${i}`).digest('base64url').slice(0, 21);
}

/**
 * Visitor `i`'s plan in the audience of `seed`: visits over the `days` days before `now` (a
 * first visit anywhere in the span, then returns at gaps of about five days), a favourite
 * category (skewed: the first categories draw most), whether it is an email subscriber (a
 * contact, one in five) and how readily it buys. Each visit is `{ i, k, ts, email }`: `email`
 * (a subscriber's visit, one in three) arrives from a newsletter link. Deterministic: the same
 * seed, index and `now` give the same plan.
 */
export function audiencePlan(seed, i, now, days, categories) {
  const rnd = prng(mix(seed, i));
  const favourite = categories[Math.floor(categories.length * rnd() ** 2)];
  const subscriber = rnd() < 0.2;
  const buyer = rnd() < 0.3 ? 0.5 : 0.08;
  const visits = [];
  let ts = now - Math.floor(rnd() * days * DAY);
  const count = Math.min(25, 1 + Math.floor(-Math.log(1 - rnd()) * 2.5));
  for (let k = 0; k < count && ts < now - 10 * 60_000; k++) {
    visits.push({ i, k, ts, email: subscriber && rnd() < 0.35 });
    ts += Math.floor(-Math.log(1 - rnd()) * 5 * DAY) + 3_600_000;
  }
  return {
    i,
    visitor: audienceVisitorId(seed, i),
    contact: subscriber ? `seed-${seed}-contact-${i}` : null,
    favourite,
    buyer,
    visits,
  };
}

/** The newsletter a visit at `ts` came from: one campaign a week. */
export const campaignOf = (ts) => `newsletter-week-${Math.floor(ts / (7 * DAY))}`;

/**
 * The events of one visit of a plan, as a browser sends them: 1 to 8 events a minute or so
 * apart, page views mostly in the favourite category, some clicks, now and then a cart and, for a
 * buyer, a purchase. An email visit starts on the link's page, with the campaign (`utm_*`) and the
 * link's category (`ms_cat`) in its URL. `page(category, n)` gives a page URL and whether the
 * event names its category itself (false: the site's URL rules categorize it). Event ids are
 * fixed by seed, visitor and visit: a visit sent twice is stored once.
 */
export function audienceVisitEvents(seed, plan, visit, categories, page) {
  const rnd = prng(mix(mix(seed, plan.i), visit.k + 7));
  const n = 1 + Math.floor(rnd() * 8);
  const session = `s${seed}-${plan.i}-${visit.k}`;
  const out = [];
  let ts = visit.ts;
  let carted = false;
  for (let j = 0; j < n; j++) {
    const category = rnd() < 0.7 ? plan.favourite : pick(rnd, categories);
    const { url, named } = page(category, Math.floor(rnd() * 400));
    const id = `e${seed}-${plan.i}-${visit.k}-${j}`;
    const base = { id, ts, session, url, ...(named ? { category } : {}) };
    const r = j === 0 ? 0 : rnd();
    if (j === 0 && visit.email) {
      const q = `utm_source=newsletter&utm_medium=email&utm_campaign=${campaignOf(visit.ts)}&ms_cat=${encodeURIComponent(plan.favourite)}`;
      out.push({ ...base, type: 'page_view', url: `${url}?${q}`, nav: 'load' });
    } else if (r < 0.72) {
      out.push({
        ...base,
        type: 'page_view',
        nav: j === 0 ? 'load' : 'spa',
        ...(j === 0 ? { ref: 'https://www.google.com/' } : {}),
      });
    } else if (r < 0.9) {
      out.push({ ...base, type: 'click', target: url, outbound: false });
    } else {
      carted = true;
      const value = Math.round((20 + rnd() * 480) * 100) / 100;
      out.push({ ...base, type: 'add_to_cart', value, currency: 'EUR' });
    }
    ts += 15_000 + Math.floor(rnd() * 90_000);
  }
  if (carted && rnd() < plan.buyer) {
    const value = Math.round((20 + rnd() * 480) * 100) / 100;
    const id = `e${seed}-${plan.i}-${visit.k}-p`;
    out.push({ id, ts, session, type: 'purchase', value, currency: 'EUR' });
  }
  return out;
}
