/**
 * A site's RFM quintile breakpoints: computed from its customers (the background job, or
 * `microseg rfm` on the file while the collector runs), kept in `rfm_breakpoints` and in memory.
 */
import { eq, sql } from 'drizzle-orm';
import { quintileRanks, type RfmBreakpoints } from '../../engine/index.ts';
import type { Db } from './open.ts';
import { rfmBreakpoints } from './schema.ts';

type Four = RfmBreakpoints['frequency'];

export interface RfmStore {
  /** The site's quintiles (cached in memory; null until enough customers). */
  breakpoints(site: string): RfmBreakpoints | null;
  /** Recomputes the site's quintiles from its customers; null (fixed thresholds) under `minCustomers`. */
  recompute(site: string, minCustomers: number, now: number): RfmBreakpoints | null;
  /** Forgets what is cached (another connection wrote the table). */
  clear(): void;
}

/**
 * What the `recency` column holds: `{"lastPurchase": [t1, t2, t3, t4]}` (times, oldest first).
 * Rows written before that hold a plain array of ages at `computed`, youngest first; those ages
 * were `computed − time`, so the times are recovered exactly.
 */
function lastPurchaseTimes(recency: string, computed: number): Four {
  const parsed = JSON.parse(recency) as number[] | { lastPurchase: Four };
  if (!Array.isArray(parsed)) return parsed.lastPurchase;
  return parsed.map((age) => computed - age).reverse() as Four;
}

export function rfmStore(db: Db): RfmStore {
  const sqlite = db.$client;
  const p = (name: string) => sql.placeholder(name);
  // The breakpoint at a rank is one step down a partial index of customers.
  const countCustomers = sqlite.prepare<[string], { n: number }>(
    'SELECT count(*) AS n FROM profiles WHERE site = ? AND purchases > 0',
  );
  // INDEXED BY: without statistics the planner may pick another customer index and sort.
  const rankOf = (column: string, index: string) =>
    sqlite
      .prepare<[string, number], number>(
        `SELECT ${column} AS v FROM profiles INDEXED BY ${index} WHERE site = ? AND purchases > 0 ORDER BY ${column} ASC LIMIT 1 OFFSET ?`,
      )
      .pluck();
  const frequencyAt = rankOf('purchases', 'profiles_rfm_f');
  const monetaryAt = rankOf('monetary', 'profiles_rfm_m');
  // Oldest first, like the other two worst first: one tie rule for all three.
  const lastPurchaseAt = rankOf('last_purchase', 'profiles_rfm_r');
  const upsert = db
    .insert(rfmBreakpoints)
    .values({
      site: p('site'),
      computed: p('computed'),
      customers: p('customers'),
      recency: p('recency'),
      frequency: p('frequency'),
      monetary: p('monetary'),
    })
    .onConflictDoUpdate({
      target: rfmBreakpoints.site,
      set: {
        computed: sql`excluded.computed`,
        customers: sql`excluded.customers`,
        recency: sql`excluded.recency`,
        frequency: sql`excluded.frequency`,
        monetary: sql`excluded.monetary`,
      },
    })
    .prepare();
  const select = db
    .select()
    .from(rfmBreakpoints)
    .where(eq(rfmBreakpoints.site, p('site')))
    .prepare();
  const remove = db
    .delete(rfmBreakpoints)
    .where(eq(rfmBreakpoints.site, p('site')))
    .prepare();

  /** Site → quintiles, so a segment read stays one primary-key lookup (the job refreshes it). */
  const cache = new Map<string, RfmBreakpoints | null>();

  function breakpoints(site: string): RfmBreakpoints | null {
    let bp = cache.get(site);
    if (bp === undefined) {
      const row = select.get({ site });
      bp = row
        ? {
            lastPurchase: lastPurchaseTimes(row.recency, row.computed),
            frequency: JSON.parse(row.frequency),
            monetary: JSON.parse(row.monetary),
            customers: row.customers,
            computed: row.computed,
          }
        : null;
      cache.set(site, bp);
    }
    return bp;
  }

  function recompute(site: string, minCustomers: number, now: number): RfmBreakpoints | null {
    const n = countCustomers.get(site)?.n ?? 0;
    if (n < minCustomers || n === 0) {
      remove.run({ site });
      cache.set(site, null);
      return null;
    }
    const ranks = quintileRanks(n);
    // Every rank is below n, the count just taken in this synchronous run: a row is there.
    const at = (stmt: typeof frequencyAt) => ranks.map((r) => stmt.get(site, r) ?? 0) as Four;
    const bp: RfmBreakpoints = {
      lastPurchase: at(lastPurchaseAt),
      frequency: at(frequencyAt),
      monetary: at(monetaryAt),
      customers: n,
      computed: now,
    };
    upsert.run({
      site,
      computed: now,
      customers: n,
      recency: JSON.stringify({ lastPurchase: bp.lastPurchase }),
      frequency: JSON.stringify(bp.frequency),
      monetary: JSON.stringify(bp.monetary),
    });
    cache.set(site, bp);
    return bp;
  }

  return { breakpoints, recompute, clear: () => cache.clear() };
}
