/**
 * Audience naming, backend-neutral: which members a segment name from the API or the CLI stands
 * for. The counts and the member cursor are the backend's (`Storage.segmentCounts`, `members`).
 */
import type { SiteConfig } from '../config/config.ts';
import type { Audience } from './contract.ts';

export type { Audience, MemberRow, SegmentCounts } from './contract.ts';

/** A segment name from the API: `key:<pattern>` or anything with a colon is a key pattern, else a custom segment. */
export function audienceOf(name: string): Audience {
  if (name.startsWith('key:')) return { kind: 'key', pattern: name.slice(4) };
  return name.includes(':') ? { kind: 'key', pattern: name } : { kind: 'custom', name };
}

/** The custom segments (rule names) of a site's config. */
export function customSegmentNames(site: SiteConfig): string[] {
  return site.engine.rules.map((r) => r.name);
}

/** Why an audience cannot be exported from this site, or null: a custom segment must be one of the site's rules. */
export function unknownAudience(site: SiteConfig, name: string, audience: Audience): string | null {
  if (audience.kind !== 'custom' || customSegmentNames(site).includes(audience.name)) return null;
  return `"${name}" is not a custom segment of site "${site.id}"; a microsegment key looks like "newbie:cameras:hot" (* matches any part)`;
}
