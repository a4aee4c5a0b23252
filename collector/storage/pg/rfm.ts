/**
 * A site's RFM quintile breakpoints on PostgreSQL, the port of sqlite/rfm.ts: computed from its
 * customers by the background job, kept in `rfm_breakpoints` and in memory.
 *
 * The same ranks and the same tie rule as SQLite's (docs/segments.md, "One tie rule"): customers
 * sorted worst first on each value (oldest last purchase, fewest purchases, smallest total) and
 * the value at the 0-based ranks ⌈k·n/5⌉ − 1, k = 1…4 (engine `quintileRanks`), one step down a
 * partial index of customers per breakpoint (`profiles_rfm_*`, `WHERE purchases > 0`).
 *
 * The count and the twelve breakpoints are one statement, the ranks computed in SQL from that
 * count: a statement reads one snapshot, so a customer erased or added by a concurrent commit
 * cannot put a rank past the rows it reads (in READ COMMITTED, separate statements could).
 * `(k·n + 4) / 5` in integers is ⌈k·n/5⌉ for n ≥ 0, as `quintileRanks` computes it.
 */
import type { RfmBreakpoints } from '../../engine/index.ts';
import type { Queryable } from './db.ts';

type Four = RfmBreakpoints['frequency'];

/**
 * What the `recency` column holds: `{"lastPurchase": [t1, t2, t3, t4]}` (times, oldest first).
 * Rows written by older versions hold a plain array of ages at `computed`, youngest first (a
 * SQLite database copied over keeps them): those ages were `computed − time`, so the times are
 * recovered exactly. The same reading as sqlite/rfm.ts.
 */
function lastPurchaseTimes(recency: string, computed: number): Four {
  const parsed = JSON.parse(recency) as number[] | { lastPurchase: Four };
  if (!Array.isArray(parsed)) return parsed.lastPurchase;
  return parsed.map((age) => computed - age).reverse() as Four;
}

/**
 * The value at a breakpoint's rank: one ordered step down the column's partial index. A cast goes
 * outside the subquery: inside, ORDER BY would sort by the cast output column of the same name,
 * and the index (on the column) would no longer give the order.
 */
const at = (column: string, cast = '') =>
  `(SELECT ${column} FROM profiles WHERE site = $1 AND purchases > 0
     ORDER BY ${column} ASC LIMIT 1 OFFSET r.rank)${cast}`;

const RANKS = `WITH c AS (SELECT count(*)::int AS n FROM profiles WHERE site = $1 AND purchases > 0),
  r AS (SELECT k, greatest(0, (k * c.n + 4) / 5 - 1) AS rank FROM c, generate_series(1, 4) AS k)
SELECT c.n, r.k,
       ${at('last_purchase', '::float8')} AS "lastPurchase",
       ${at('purchases')} AS frequency,
       ${at('monetary')} AS monetary
  FROM c LEFT JOIN r ON c.n > 0
 ORDER BY r.k`;

interface RankRow {
  n: number;
  k: number | null;
  lastPurchase: number | null;
  frequency: number | null;
  monetary: number | null;
}

export interface StoredRow {
  computed: number;
  customers: number;
  recency: string;
  frequency: string;
  monetary: string;
}

/** The quintiles of a stored `rfm_breakpoints` row (also read by the segment read path, reads.ts). */
export function breakpointsOfRow(row: StoredRow): RfmBreakpoints {
  return {
    lastPurchase: lastPurchaseTimes(row.recency, row.computed),
    frequency: JSON.parse(row.frequency) as Four,
    monetary: JSON.parse(row.monetary) as Four,
    customers: row.customers,
    computed: row.computed,
  };
}

/**
 * How long a process keeps a site's quintiles before it reads them again: what another process
 * stored (`microseg rfm`, another collector's job) is in force here within this time. One query a
 * site per period; SQLite needs none (`PRAGMA data_version` tells it of another writer at once).
 */
export const RFM_CACHE_MS = 30_000;

export function rfmPg(
  pool: Queryable,
  opts: { cacheMs?: number; now?: () => number } = {},
): {
  /**
   * The site's quintiles (cached in memory; null until enough customers). `q`: inside a write
   * job, the job's client: a job that waited for a second pooled connection could wait forever
   * once every connection is held by such jobs.
   */
  breakpoints(site: string, q?: Queryable): Promise<RfmBreakpoints | null>;
  /** Recomputes the site's quintiles from its customers; null (fixed thresholds) under `minCustomers`. */
  recompute(
    q: Queryable,
    site: string,
    minCustomers: number,
    now: number,
  ): Promise<RfmBreakpoints | null>;
  /** Forgets what is cached (another process wrote the table). */
  clear(): void;
} {
  const cacheMs = opts.cacheMs ?? RFM_CACHE_MS;
  const clock = opts.now ?? Date.now;
  /** Site → quintiles and when they were read, so a segment read does not query them each time. */
  const cache = new Map<string, { bp: RfmBreakpoints | null; at: number }>();
  const keep = (site: string, bp: RfmBreakpoints | null) => cache.set(site, { bp, at: clock() });

  async function breakpoints(site: string, q: Queryable = pool): Promise<RfmBreakpoints | null> {
    const cached = cache.get(site);
    if (cached !== undefined && clock() - cached.at < cacheMs) return cached.bp;
    const res = await q.query<StoredRow>(
      `SELECT computed::float8 AS computed, customers, recency, frequency, monetary
         FROM rfm_breakpoints WHERE site = $1`,
      [site],
    );
    const row = res.rows[0];
    const bp = row ? breakpointsOfRow(row) : null;
    keep(site, bp);
    return bp;
  }

  async function recompute(
    q: Queryable,
    site: string,
    minCustomers: number,
    now: number,
  ): Promise<RfmBreakpoints | null> {
    const rows = (await q.query<RankRow>(RANKS, [site])).rows;
    const n = rows[0]?.n ?? 0;
    if (n < minCustomers || n === 0) {
      await q.query('DELETE FROM rfm_breakpoints WHERE site = $1', [site]);
      keep(site, null);
      return null;
    }
    // Every rank is below n, counted in the same statement: each value is there.
    const four = (pick: (r: RankRow) => number | null) => rows.map((r) => pick(r) ?? 0) as Four;
    const bp: RfmBreakpoints = {
      lastPurchase: four((r) => r.lastPurchase),
      frequency: four((r) => r.frequency),
      monetary: four((r) => r.monetary),
      customers: n,
      computed: now,
    };
    await q.query(
      `INSERT INTO rfm_breakpoints (site, computed, customers, recency, frequency, monetary)
       VALUES ($1, $2, $3, $4, $5, $6)
       ON CONFLICT (site) DO UPDATE SET computed = excluded.computed,
         customers = excluded.customers, recency = excluded.recency,
         frequency = excluded.frequency, monetary = excluded.monetary`,
      [
        site,
        now,
        n,
        JSON.stringify({ lastPurchase: bp.lastPurchase }),
        JSON.stringify(bp.frequency),
        JSON.stringify(bp.monetary),
      ],
    );
    keep(site, bp);
    return bp;
  }

  return { breakpoints, recompute, clear: () => cache.clear() };
}
