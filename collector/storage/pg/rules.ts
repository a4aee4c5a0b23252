/**
 * Runtime custom segment rules of the PostgreSQL backend (`site_rules`, `rule_versions`), the
 * port of sqlite/rules.ts, and the rule preview's profile scan. Every write first raises the
 * site's row of `rule_versions`: its row lock orders two processes saving rules of one site, so
 * the count of rules in force that `put` checks is not raced.
 */
import type { Profile } from '../../engine/index.ts';
import type { Traits } from '../../identity/traits.ts';
import type { RuleReads, RuleWrites, ScannedProfile, StoredRule } from '../contract.ts';
import type { Queryable } from './db.ts';
import { profileFromColumns } from '../scan.ts';

const BUMP = {
  name: 'microseg_rules_bump',
  text: `INSERT INTO rule_versions (site, version) VALUES ($1, 1)
         ON CONFLICT (site) DO UPDATE SET version = rule_versions.version + 1 RETURNING version`,
};

async function bump(q: Queryable, site: string): Promise<number> {
  const { rows } = await q.query<{ version: number }>({ ...BUMP, values: [site] });
  const v = rows[0]?.version;
  if (v === undefined) throw new Error('microseg: rule_versions upsert returned no row');
  return v;
}

export function rulesPg(q: Queryable): RuleReads & RuleWrites {
  return {
    async versions() {
      const { rows } = await q.query<{ site: string; version: number }>({
        name: 'microseg_rules_versions',
        text: 'SELECT site, version FROM rule_versions',
      });
      return new Map(rows.map((r) => [r.site, r.version]));
    },
    async list(site) {
      const v = await q.query<{ version: number }>({
        name: 'microseg_rules_version',
        text: 'SELECT version FROM rule_versions WHERE site = $1',
        values: [site],
      });
      const { rows } = await q.query<StoredRule>({
        name: 'microseg_rules_list',
        text: `SELECT name, definition, revision, backfilled, deleted, created, updated
               FROM site_rules WHERE site = $1 ORDER BY name`,
        values: [site],
      });
      return { version: v.rows[0]?.version ?? 0, rules: rows };
    },
    async put(site, name, definition, now, maxRules) {
      const v = await bump(q, site);
      const { rows } = await q.query<{ n: number }>({
        name: 'microseg_rules_others',
        text: 'SELECT count(*) AS n FROM site_rules WHERE site = $1 AND name <> $2 AND NOT deleted',
        values: [site, name],
      });
      // The raised version is rolled back with the job (the route throws on `too_many`).
      if ((rows[0]?.n ?? 0) >= maxRules) return 'too_many';
      await q.query({
        name: 'microseg_rules_upsert',
        text: `INSERT INTO site_rules (site, name, definition, revision, backfilled, deleted, created, updated)
               VALUES ($1, $2, $3, $4, 0, false, $5, $5)
               ON CONFLICT (site, name) DO UPDATE SET definition = excluded.definition,
                 revision = excluded.revision, deleted = false, updated = excluded.updated`,
        values: [site, name, definition, v, now],
      });
      return { version: v };
    },
    async delete(site, name, now) {
      const v = await bump(q, site);
      const res = await q.query({
        name: 'microseg_rules_delete',
        text: `UPDATE site_rules SET deleted = true, revision = $1, updated = $2
               WHERE site = $3 AND name = $4 AND NOT deleted`,
        values: [v, now, site, name],
      });
      // Nothing to delete: the raised version goes with the job's rollback (the route throws).
      return res.rowCount === 0 ? null : { version: v };
    },
    async backfilled(site, done) {
      for (const { name, revision } of done) {
        await q.query({
          name: 'microseg_rules_backfilled',
          text: `UPDATE site_rules SET backfilled = revision
                 WHERE site = $1 AND name = $2 AND revision = $3 AND NOT deleted`,
          values: [site, name, revision],
        });
        await q.query({
          name: 'microseg_rules_drop_deleted',
          text: 'DELETE FROM site_rules WHERE site = $1 AND name = $2 AND revision = $3 AND deleted',
          values: [site, name, revision],
        });
      }
      return bump(q, site);
    },
  };
}

/**
 * The preview's scan: a page of profiles (their traits, their columns only, when asked), in id
 * order; with `activeAfter`, the aggregate and traits of only the profiles last seen after it
 * (the others' stay unread and unsent: a CASE, so they still page).
 */
export async function scanProfiles(
  q: Queryable,
  site: string,
  after: string,
  limit: number,
  opts: { traits: boolean; columns: boolean; activeAfter?: number | undefined },
): Promise<ScannedProfile[]> {
  const { traits, columns, activeAfter: cut } = opts;
  const prune = cut !== undefined;
  const active = (what: string) => (prune ? `CASE WHEN p.last_seen > $4 THEN ${what} END` : what);
  const traitsOf = prune
    ? active(
        '(SELECT m.traits FROM profile_meta m WHERE m.site = p.site AND m.visitor = p.visitor)',
      )
    : 'm.traits';
  const { rows } = await q.query<{
    visitor: string;
    data: string | null;
    first_seen: number;
    last_seen: number;
    purchases: number;
    monetary: number;
    last_purchase: number | null;
    traits: string | null;
  }>({
    name: `microseg_scan_profiles_${columns ? 'c' : 'd'}${traits ? 't' : ''}${prune ? 'a' : ''}`,
    text: `SELECT p.visitor, ${columns ? 'NULL' : active('p.data')} AS data, p.first_seen, p.last_seen,
             p.purchases, p.monetary, p.last_purchase, ${traits ? traitsOf : 'NULL'} AS traits
           FROM profiles p
           ${traits && !prune ? 'LEFT JOIN profile_meta m ON m.site = p.site AND m.visitor = p.visitor' : ''}
           WHERE p.site = $1 AND p.visitor > $2 ORDER BY p.visitor LIMIT $3`,
    values: prune ? [site, after, limit, cut] : [site, after, limit],
  });
  return rows.map((r) => ({
    visitor: r.visitor,
    profile:
      prune && r.last_seen <= cut
        ? null
        : r.data === null
          ? profileFromColumns(r.first_seen, r.last_seen, r.purchases, r.monetary, r.last_purchase)
          : (JSON.parse(r.data) as Profile),
    traits: r.traits === null ? undefined : (JSON.parse(r.traits) as Traits),
  }));
}
