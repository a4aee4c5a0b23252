/**
 * Runtime custom segment rules of the SQLite backend (`site_rules`, `rule_versions`), and the
 * profile scan of the rule preview. Plain statements: a handful of rows each.
 */
import type Database from 'better-sqlite3';
import type { Profile } from '../../engine/index.ts';
import type { Traits } from '../../identity/traits.ts';
import type { RuleReads, RuleWrites, ScannedProfile, StoredRule } from '../contract.ts';
import { profileFromColumns } from '../scan.ts';

type RuleRow = Omit<StoredRule, 'deleted'> & { deleted: number };

export function ruleStore(sqlite: Database.Database): RuleReads & RuleWrites {
  const versions = sqlite.prepare<[], { site: string; version: number }>(
    'SELECT site, version FROM rule_versions',
  );
  const version = sqlite.prepare<[string], { version: number }>(
    'SELECT version FROM rule_versions WHERE site = ?',
  );
  const list = sqlite.prepare<[string], RuleRow>(
    `SELECT name, definition, revision, backfilled, deleted, created, updated
     FROM site_rules WHERE site = ? ORDER BY name`,
  );
  const bump = sqlite.prepare<[string], { version: number }>(
    `INSERT INTO rule_versions (site, version) VALUES (?, 1)
     ON CONFLICT (site) DO UPDATE SET version = version + 1 RETURNING version`,
  );
  const others = sqlite.prepare<[string, string], { n: number }>(
    'SELECT count(*) AS n FROM site_rules WHERE site = ? AND name <> ? AND NOT deleted',
  );
  const upsert = sqlite.prepare<[string, string, string, number, number, number]>(
    `INSERT INTO site_rules (site, name, definition, revision, backfilled, deleted, created, updated)
     VALUES (?, ?, ?, ?, 0, 0, ?, ?)
     ON CONFLICT (site, name) DO UPDATE SET definition = excluded.definition,
       revision = excluded.revision, deleted = 0, updated = excluded.updated`,
  );
  const markDeleted = sqlite.prepare<[number, number, string, string]>(
    'UPDATE site_rules SET deleted = 1, revision = ?, updated = ? WHERE site = ? AND name = ? AND NOT deleted',
  );
  const markBackfilled = sqlite.prepare<[string, string, number]>(
    'UPDATE site_rules SET backfilled = revision WHERE site = ? AND name = ? AND revision = ? AND NOT deleted',
  );
  const dropDeleted = sqlite.prepare<[string, string, number]>(
    'DELETE FROM site_rules WHERE site = ? AND name = ? AND revision = ? AND deleted',
  );
  const exists = sqlite.prepare<[string, string], { n: number }>(
    'SELECT count(*) AS n FROM site_rules WHERE site = ? AND name = ? AND NOT deleted',
  );

  const must = (row: { version: number } | undefined) => {
    if (!row) throw new Error('microseg: rule_versions upsert returned no row');
    return row.version;
  };

  return {
    async versions() {
      return new Map(versions.all().map((r) => [r.site, r.version]));
    },
    async list(site) {
      return {
        version: version.get(site)?.version ?? 0,
        rules: list.all(site).map((r) => ({ ...r, deleted: r.deleted === 1 })),
      };
    },
    async put(site, name, definition, now, maxRules) {
      if ((others.get(site, name)?.n ?? 0) >= maxRules) return 'too_many';
      const v = must(bump.get(site));
      upsert.run(site, name, definition, v, now, now);
      return { version: v };
    },
    async delete(site, name, now) {
      if ((exists.get(site, name)?.n ?? 0) === 0) return null;
      const v = must(bump.get(site));
      markDeleted.run(v, now, site, name);
      return { version: v };
    },
    async backfilled(site, done) {
      for (const { name, revision } of done) {
        markBackfilled.run(site, name, revision);
        dropDeleted.run(site, name, revision);
      }
      return must(bump.get(site));
    },
  };
}

/** The preview's scan: a page of profiles (their traits, their columns only, when asked), in id order. */
export function profileScan(sqlite: Database.Database) {
  type Row = [
    visitor: string,
    data: string | null,
    firstSeen: number,
    lastSeen: number,
    purchases: number,
    monetary: number,
    lastPurchase: number | null,
    traits: string | null,
  ];
  // Eight shapes, prepared when first used: the aggregate or the columns, with the traits or
  // without, every row's or only the active ones' (the others' aggregate and traits unread: a
  // CASE, so the row still pages; the traits by a subquery the CASE skips, not a join of every row).
  const statement = (data: boolean, traits: boolean, prune: boolean) => {
    const active = (what: string) =>
      prune ? `CASE WHEN p.last_seen > @cut THEN ${what} END` : what;
    const traitsOf = prune
      ? active(
          '(SELECT m.traits FROM profile_meta m WHERE m.site = p.site AND m.visitor = p.visitor)',
        )
      : 'm.traits';
    return sqlite
      .prepare<[Record<string, string | number>], Row>(
        `SELECT p.visitor, ${data ? active('p.data') : 'NULL'}, p.first_seen, p.last_seen,
           p.purchases, p.monetary, p.last_purchase, ${traits ? traitsOf : 'NULL'}
         FROM profiles p
         ${traits && !prune ? 'LEFT JOIN profile_meta m ON m.site = p.site AND m.visitor = p.visitor' : ''}
         WHERE p.site = @site AND p.visitor > @after ORDER BY p.visitor LIMIT @limit`,
      )
      .raw();
  };
  const shapes = new Map<number, ReturnType<typeof statement>>();
  return (
    site: string,
    after: string,
    limit: number,
    opts: { traits: boolean; columns: boolean; activeAfter?: number | undefined },
  ): ScannedProfile[] => {
    const cut = opts.activeAfter;
    const shape = (opts.columns ? 0 : 1) + (opts.traits ? 2 : 0) + (cut === undefined ? 0 : 4);
    let stmt = shapes.get(shape);
    if (!stmt) {
      stmt = statement(!opts.columns, opts.traits, cut !== undefined);
      shapes.set(shape, stmt);
    }
    const params: Record<string, string | number> = { site, after, limit };
    if (cut !== undefined) params.cut = cut;
    return stmt.all(params).map((r) => ({
      visitor: r[0],
      profile:
        cut !== undefined && r[3] <= cut
          ? null
          : r[1] === null
            ? profileFromColumns(r[2], r[3], r[4], r[5], r[6])
            : (JSON.parse(r[1]) as Profile),
      traits: r[7] === null ? undefined : (JSON.parse(r[7]) as Traits),
    }));
  };
}
