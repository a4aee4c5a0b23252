/** Types of workload.mjs for the TypeScript that shares it (`microseg seed`, collector/cli/seed.ts). */
export const SITE: string;
export const CATEGORIES: string[];
export function visitorId(i: number): string;
export function prng(seed: number): () => number;

export interface AudienceVisit {
  i: number;
  k: number;
  ts: number;
  email: boolean;
}
export interface AudiencePlan {
  i: number;
  visitor: string;
  contact: string | null;
  favourite: string;
  buyer: number;
  visits: AudienceVisit[];
}
/** A browser event as the snippet sends it (validated again by the collector). */
export type AudienceEvent = Record<string, unknown> & { id: string; type: string; ts: number };

export function audienceVisitorId(seed: number, i: number): string;
export function audiencePlan(
  seed: number,
  i: number,
  now: number,
  days: number,
  categories: readonly string[],
): AudiencePlan;
export function campaignOf(ts: number): string;
export function audienceVisitEvents(
  seed: number,
  plan: AudiencePlan,
  visit: AudienceVisit,
  categories: readonly string[],
  page: (category: string, n: number) => { url: string; named: boolean },
): AudienceEvent[];
