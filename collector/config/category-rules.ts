/**
 * A site's URL category rules (`categories` in the site config): which category a page view gets
 * from its URL when the page names none. The rules, as README and docs/snippet.md say them:
 * - only the URL's path is matched: not its origin, query string or fragment; case matters;
 * - the first rule that matches wins;
 * - `*` matches any run of characters, `/` included;
 * - a trailing slash never matters: `/cameras` matches `/cameras` and `/cameras/`, and
 *   `/cameras/*` matches `/cameras`, `/cameras/` and everything below it.
 */

export interface CategoryRule {
  path: string;
  category: string;
  re: RegExp;
}

const literal = (s: string) => s.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*');

/** The regular expression of one rule's path pattern. */
export function categoryPattern(pattern: string): RegExp {
  // `/cameras/*` is the section and everything in it: the section's own page too.
  if (pattern.endsWith('/*')) return new RegExp(`^${literal(pattern.slice(0, -2))}(?:/.*)?$`);
  const bare = pattern.length > 1 && pattern.endsWith('/') ? pattern.slice(0, -1) : pattern;
  return new RegExp(bare === '/' ? '^/$' : `^${literal(bare)}/?$`);
}

export interface CategoryMatch {
  /** The URL's path, as matched. */
  path: string;
  /** The first rule that matched, with its position in `categories` (0-based). */
  rule?: { index: number; path: string; category: string };
}

/** Which rule gives `url` its category; undefined when the URL does not parse. */
export function matchCategory(rules: CategoryRule[], url: string): CategoryMatch | undefined {
  let path: string;
  try {
    path = new URL(url).pathname;
  } catch {
    return undefined;
  }
  const index = rules.findIndex((r) => r.re.test(path));
  const rule = rules[index];
  return rule ? { path, rule: { index, path: rule.path, category: rule.category } } : { path };
}

/** The warning for a page view of a site with URL rules that none of them matched, with the fix. */
export function noCategoryNotice(site: string, path: string): string {
  return `site "${site}": no rule of sites.${site}.categories matches the page ${path}, so its views have no category (rules match the path only, first match wins; "/section/*" also matches "/section"): add a rule, or give the page its category (<meta name="microseg:category" content="…">)`;
}
