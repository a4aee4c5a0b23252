/**
 * `microseg seed`: fills an empty site with a synthetic audience, so a newcomer's first look (the
 * stats API, the dashboard) has weeks of figures to show. The visitors, visits and events come
 * from the workload generator the benchmark seeds with (bench/lib/workload.mjs); they are
 * written the way the collector writes a browser's: each visit one `ingestBatch` (validation,
 * categories from the site's URL rules, campaigns from the URL), an email arrival an
 * `email_click` for the contact and `linkVisitor` (the `/r` link, then the page's `ms_t`), in
 * write jobs of a hundred visits.
 *
 * Time runs as it would have: the days are replayed oldest first, each visit written at its own
 * time, and at each day's end the segment sweep runs at that time, the day's activity is rolled
 * up and its segment sizes are snapshotted. So the segment history, the lifecycle flow and the size chart are those the
 * collector would have recorded, not a pile of changes at the moment of seeding. At the end the
 * RFM quintiles are recomputed and today's sizes snapshotted.
 *
 * Only an empty site is seeded (no profile yet): the replayed sweeps re-evaluate every profile of
 * the site at past times, which would write false history for real visitors, and a second run
 * would repeat the first. A second run is refused and changes nothing.
 */
import { createHash } from 'node:crypto';
import {
  type AudiencePlan,
  type AudienceVisit,
  audiencePlan,
  audienceVisitEvents,
  CATEGORIES,
  campaignOf,
} from '../../bench/lib/workload.mjs';
import { loadSiteConfig } from '../config/env.ts';
import type { SiteConfig } from '../config/config.ts';
import { redactDbUrl } from '../config/db-url.ts';
import { DAY } from '../engine/config.ts';
import { optionsFromEnv } from '../http/server.ts';
import { ingestAs, linkVisitor } from '../identity/identify.ts';
import { ingestBatch } from '../ingest/ingest.ts';
import { dayOf, snapshotSite } from '../jobs/segment-sizes.ts';
import type { Storage, StorageTx } from '../storage/contract.ts';
import { openStorage } from '../storage/open.ts';
import type { Command } from './cli.ts';
import { fail, help } from './cli-data.ts';

export const SEED_DEFAULTS = { visitors: 5000, days: 60, seed: 1 };
const MAX_VISITORS = 1_000_000;
const MAX_DAYS = 365;
/** Visits per write job: about a browser batch's worth of work each, a few hundred events. */
const VISITS_PER_JOB = 100;
/** Profiles per transaction of the replayed sweep. */
const SWEEP_BATCH = 500;

export interface SeedSummary {
  site: string;
  visitors: number;
  days: number;
  events: number;
  /** Visitors with at least one visit stored. */
  visited: number;
  contacts: number;
  emailArrivals: number;
  purchases: number;
  profiles: number;
  snapshots: number;
  customersForRfm: number | null;
}

/** The categories a site's audience browses: its URL rules' categories, else the demo shop's. */
export function seedCategories(site: SiteConfig): string[] {
  const own = [...new Set(site.categories.map((r) => r.category))];
  return own.length > 0 ? own : CATEGORIES;
}

/**
 * A page of `category`: a path one of the site's URL rules gives that category (the rule then
 * categorizes it at ingest, `named` false), else `/<category>/item-n` with the category named on
 * the event, as a page tagged `data-ms-category` sends it.
 */
function pageOf(site: SiteConfig) {
  const origin = (site.origins[0] ?? 'https://shop.example').replace(/\/$/, '');
  const rules = new Map<string, string>();
  for (const r of site.categories)
    if (!rules.has(r.category) && r.path.startsWith('/')) rules.set(r.category, r.path);
  return (category: string, n: number) => {
    const path = rules.get(category);
    if (path !== undefined)
      return { url: `${origin}${path.replaceAll('*', `item-${n}`)}`, named: false };
    return { url: `${origin}/${encodeURIComponent(category)}/item-${n}`, named: true };
  };
}

/** An email link's grant (8 bytes): one per contact and campaign, as one newsletter's link. */
const grantOf = (seed: number, plan: AudiencePlan, campaign: string) =>
  createHash('sha256')
    .update(`seed-${seed}-${plan.i}-${campaign}`)
    .digest()
    .subarray(0, 8)
    .toString('base64url');

interface VisitCounts {
  events: number;
  purchases: number;
  email: number;
}

async function writeVisit(
  tx: StorageTx,
  site: SiteConfig,
  seed: number,
  plan: AudiencePlan,
  visit: AudienceVisit,
  categories: string[],
  page: ReturnType<typeof pageOf>,
): Promise<VisitCounts> {
  const events = audienceVisitEvents(seed, plan, visit, categories, page);
  let email = 0;
  if (visit.email && plan.contact !== null) {
    // The newsletter link: /r records the click for the contact, then the page's ms_t links the browser.
    const campaign = campaignOf(visit.ts);
    const grant = grantOf(seed, plan, campaign);
    const click = {
      id: `ec_${grant}_${Math.floor(visit.ts / 3_600_000)}`,
      type: 'email_click',
      ts: visit.ts - 2000,
      category: plan.favourite,
      target: String(events[0]?.url ?? ''),
      utm: { campaign, medium: 'email', source: 'newsletter' },
    };
    await ingestAs(tx, site, { contact: plan.contact }, [click], visit.ts - 2000);
    await linkVisitor(tx, site, plan.visitor, plan.contact, grant, visit.ts - 1000);
    email = 1;
  }
  const last = events.at(-1)?.ts ?? visit.ts;
  const res = await ingestBatch(tx, site, plan.visitor, events, last + 1000);
  const purchases = events.filter((e) => e.type === 'purchase').length;
  return { events: res.accepted, purchases: res.accepted > 0 ? purchases : 0, email };
}

const HOUR = 3_600_000;

/**
 * The day's end at `at`, as the collector's jobs would have seen it: the sweep records what time
 * alone changed, the day's closed hours and (once over) the day are rolled up, the sizes are
 * counted. The day's buckets are rolled up again even when marked rolled already: a collector
 * that ran on this database before (or runs now) rolled them up empty, before the seed wrote
 * their events, and `rollupDue` would leave them so.
 */
async function closeDay(storage: Storage, site: SiteConfig, day: number, at: number) {
  let after: string | null = '';
  while (after !== null) {
    const from: string = after;
    after = (
      await storage.write((tx) => tx.refreshSegments(site.id, site.engine, at, from, SWEEP_BATCH))
    ).next;
  }
  const closedHours = Math.min(day + DAY, at + 1 - ((at + 1) % HOUR));
  await storage.write(async (tx) => {
    if (closedHours > day) await tx.rollupStats(site.id, HOUR, day, closedHours, at);
    if (at + 1 >= day + DAY) await tx.rollupStats(site.id, DAY, day, day + DAY, at);
  });
  return snapshotSite(storage, site, day, at);
}

/**
 * Seeds `site` with `visitors` over the `days` days before `now`. The caller checks the site is
 * empty. `progress` hears each day done.
 */
export async function seedAudience(
  storage: Storage,
  site: SiteConfig,
  opts: { visitors: number; days: number; seed: number; now: number },
  progress?: (day: number, of: number) => void,
): Promise<SeedSummary> {
  const { visitors, days, seed, now } = opts;
  const categories = seedCategories(site);
  const page = pageOf(site);
  const plans: AudiencePlan[] = [];
  const byDay = new Map<number, AudienceVisit[]>();
  for (let i = 0; i < visitors; i++) {
    const plan = audiencePlan(seed, i, now, days, categories);
    plans.push(plan);
    for (const v of plan.visits) {
      const list = byDay.get(dayOf(v.ts)) ?? [];
      list.push(v);
      byDay.set(dayOf(v.ts), list);
    }
  }
  const summary: SeedSummary = {
    site: site.id,
    visitors,
    days,
    events: 0,
    visited: 0,
    contacts: 0,
    emailArrivals: 0,
    purchases: 0,
    profiles: 0,
    snapshots: 0,
    customersForRfm: null,
  };
  const seen = new Set<number>();
  const contacts = new Set<string>();
  const first = dayOf(now - days * DAY);
  const today = dayOf(now);
  for (let day = first; day <= today; day += DAY) {
    const visits = (byDay.get(day) ?? []).sort((a, b) => a.ts - b.ts);
    for (let k = 0; k < visits.length; k += VISITS_PER_JOB) {
      const chunk = visits.slice(k, k + VISITS_PER_JOB);
      // Counted from the committed job's answer: a job may run twice (contract.ts).
      const counts = await storage.write(async (tx) => {
        const out: VisitCounts[] = [];
        for (const v of chunk) {
          const plan = plans[v.i];
          if (plan) out.push(await writeVisit(tx, site, seed, plan, v, categories, page));
        }
        return out;
      });
      counts.forEach((c, n) => {
        const v = chunk[n];
        summary.events += c.events;
        summary.purchases += c.purchases;
        summary.emailArrivals += c.email;
        if (v && c.events > 0) seen.add(v.i);
        const contact = v ? plans[v.i]?.contact : null;
        if (c.email && contact) contacts.add(contact);
      });
    }
    if (day < today) summary.snapshots += await closeDay(storage, site, day, day + DAY - 1);
    progress?.((day - first) / DAY + 1, (today - first) / DAY + 1);
  }
  const bp = await storage.write((tx) =>
    tx.recomputeRfm(site.id, site.engine.rfm.minCustomers, now),
  );
  summary.customersForRfm = bp?.customers ?? null;
  summary.snapshots += await closeDay(storage, site, today, now);
  summary.visited = seen.size;
  summary.contacts = contacts.size;
  const counts = await storage.segmentCounts(site.id);
  summary.profiles = Object.values(counts.keys).reduce((a, b) => a + b, 0);
  return summary;
}

const positiveInt = (raw: unknown, fallback: number, max: number): number | null => {
  if (raw === undefined) return fallback;
  const n = Number(raw);
  return Number.isInteger(n) && n >= 1 && n <= max ? n : null;
};

export const seedCommand: Command = {
  summary:
    'fill an empty site with a synthetic audience (weeks of visits, purchases, email arrivals)',
  usage: `microseg seed --site S [--visitors N] [--days D] [--seed N] [--config FILE] [--db FILE]

Writes a realistic synthetic audience into the site, so the stats API (and the dashboard) show
full charts on a first start: N visitors arriving over the last D days, returning every few days,
browsing mostly one favourite category (the site's URL-rule categories, else a shop's), some
adding to cart and buying; one in five is an email subscriber whose newsletter clicks identify
the browser (a known contact, with campaign first/last touch). The days are replayed in order:
segment history, daily segment sizes and the lifecycle flow are as the collector would have
recorded them; the RFM quintiles are recomputed at the end.

Only a site with no profile yet is seeded: on one with data (a second run included) it stops
and writes nothing. Use a fresh --db, or another site of the config.

Options:
  --site S          site id from the site config
  --visitors N      visitors (default ${SEED_DEFAULTS.visitors}, at most ${MAX_VISITORS})
  --days D          days of history before now (default ${SEED_DEFAULTS.days}, at most ${MAX_DAYS})
  --seed N          random seed: the same seed makes the same audience (default ${SEED_DEFAULTS.seed})
  --config FILE     site config JSON (MICROSEG_CONFIG)
  --db FILE         SQLite file or postgres:// URL (MICROSEG_DB, default ./data/microseg.db;
                    created when missing, as serve creates it)
  -h, --help        this help`,
  options: {
    site: { type: 'string' },
    visitors: { type: 'string' },
    days: { type: 'string' },
    seed: { type: 'string' },
    config: { type: 'string' },
    db: { type: 'string' },
    help,
  },
  async run(v) {
    if (typeof v.site !== 'string') return fail('seed', '--site is required');
    const visitors = positiveInt(v.visitors, SEED_DEFAULTS.visitors, MAX_VISITORS);
    if (visitors === null)
      return fail('seed', `--visitors is a whole number from 1 to ${MAX_VISITORS}`);
    const days = positiveInt(v.days, SEED_DEFAULTS.days, MAX_DAYS);
    if (days === null) return fail('seed', `--days is a whole number from 1 to ${MAX_DAYS}`);
    const seed = positiveInt(v.seed, SEED_DEFAULTS.seed, 2 ** 31 - 1);
    if (seed === null) return fail('seed', '--seed is a whole number from 1');
    const opts = optionsFromEnv();
    const config = loadSiteConfig(opts, typeof v.config === 'string' ? v.config : opts.config);
    const site = config.sites.get(v.site);
    if (!site)
      return fail(
        'seed',
        `no site "${v.site}" in the site config (${[...config.sites.keys()].join(', ')}): --config FILE`,
      );
    const db = typeof v.db === 'string' ? v.db : opts.db;
    let storage: Storage;
    try {
      storage = await openStorage(db);
    } catch (err) {
      console.error(
        `microseg seed: cannot open the database at ${redactDbUrl(db)}: ${(err as Error).message}`,
      );
      return 1;
    }
    try {
      if ((await storage.sitesWithProfiles()).includes(site.id)) {
        console.error(
          `microseg seed: site "${site.id}" already has profiles in ${redactDbUrl(db)}: seed fills an empty site only (nothing written); use a fresh --db or another site`,
        );
        return 1;
      }
      const started = performance.now();
      const s = await seedAudience(storage, site, { visitors, days, seed, now: Date.now() });
      const seconds = ((performance.now() - started) / 1000).toFixed(1);
      console.log(`seeded site ${s.site} in ${redactDbUrl(db)} (${seconds} s):
  visitors       ${s.visited} of ${s.visitors} planned, over ${s.days} days
  events         ${s.events} (purchases ${s.purchases})
  contacts       ${s.contacts} identified by ${s.emailArrivals} email arrivals
  profiles       ${s.profiles} (a contact's devices share one)
  size snapshots ${s.snapshots} rows (one set a day)
  RFM quintiles  ${s.customersForRfm === null ? `not yet (under segment.rfm.minCustomers ${site.engine.rfm.minCustomers} customers): fixed thresholds` : `from ${s.customersForRfm} customers`}`);
      return 0;
    } finally {
      await storage.close();
    }
  },
};
