/**
 * Audience naming, backend-neutral: which members a segment name from the API or the CLI stands
 * for. The counts and the member cursor are the backend's (`Storage.segmentCounts`, `members`).
 */
import type { SiteConfig } from '../config/config.ts';
import type { Audience, Storage } from './contract.ts';

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

/** One segment of `GET /v1/segments` (and the dashboard's Segments page). */
export interface SegmentSummary {
  /** The microsegment key, or the custom segment's name. */
  name: string;
  kind: 'key' | 'custom';
  members: number;
}

/**
 * Every microsegment key with members and every custom segment of the config (0 when empty), by
 * members then name: the answer of `GET /v1/segments`, read the same way by the dashboard.
 */
export async function segmentSummaries(
  storage: Storage,
  site: SiteConfig,
): Promise<SegmentSummary[]> {
  const counts = await storage.segmentCounts(site.id);
  const custom = new Map(customSegmentNames(site).map((n) => [n, 0]));
  for (const [n, members] of Object.entries(counts.custom)) custom.set(n, members);
  return [
    ...Object.entries(counts.keys).map(([name, members]) => ({
      name,
      kind: 'key' as const,
      members,
    })),
    ...[...custom].map(([name, members]) => ({ name, kind: 'custom' as const, members })),
  ].sort((a, b) => b.members - a.members || a.name.localeCompare(b.name));
}
