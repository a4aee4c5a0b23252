/**
 * The rule preview: how many of a site's current profiles a condition matches now, and a few of
 * them, without saving anything. It evaluates every stored profile as the sweep does (its traits,
 * the site's RFM quintiles, known for a contact's profile), so its count is the members the rule
 * has once saved and backfilled at the same time.
 *
 * Bounded: pages of 2,000 profiles (the time is checked between pages), at most `RULE_LIMITS.previewProfiles` profiles and
 * `RULE_LIMITS.previewMs` of time; past either it answers what it counted with `partial: true`
 * and `scanned`, so a builder can show "at least n".
 */
import { RULE_LIMITS } from '../../shared/limits.ts';
import type { SiteConfig } from '../config/config.ts';
import { activeWithin, compileRules, matches } from '../engine/index.ts';
import { contactOfKey } from '../identity/token.ts';
import type { Storage } from '../storage/contract.ts';

export interface Preview {
  count: number;
  /** Up to `previewSample` matching profile ids (a contact's profile is `c:<contact>`). */
  sample: string[];
  /** Profiles evaluated. */
  scanned: number;
  /** Stopped early (time or rows): `count` is a lower bound. */
  partial: boolean;
  tookMs: number;
}

/** Small enough that the time cap, checked between pages, is overrun by little. */
const PAGE = 2000;

/** Facts a profile made from a row's columns answers as the stored one does (storage/scan.ts). */
const COLUMN_FACTS = new Set([
  'lifecycle',
  'rfm.r',
  'rfm.f',
  'rfm.m',
  'rfm.label',
  'purchases.count',
  'purchases.total',
  'days.sinceFirstSeen',
  'days.sinceLastSeen',
  'days.sinceLastPurchase',
  'known',
]);

/** `when` must have been checked (rules/runtime.ts `checkRule`). */
export async function previewRule(
  storage: Storage,
  site: SiteConfig,
  when: unknown,
  now: number,
  opts: {
    maxMs?: number;
    maxProfiles?: number;
    clock?: () => number;
    /** Off: every row's aggregate is read (tests compare the fast paths with it). */
    columns?: boolean;
    prune?: boolean;
  } = {},
): Promise<Preview> {
  const clock = opts.clock ?? (() => performance.now());
  const started = clock();
  const maxMs = opts.maxMs ?? RULE_LIMITS.previewMs;
  const maxProfiles = opts.maxProfiles ?? RULE_LIMITS.previewProfiles;
  const { rules } = compileRules({ preview: { when } }, site.engine.windowDays);
  const engine = site.engine;
  const rule = rules[0];
  // Most rules read no trait: their scan skips the traits table. A rule on lifecycle, RFM,
  // purchases and days alone (no window, no affinity) reads the row's columns, not its JSON.
  const traits = rule?.reads.some((f) => f.startsWith('trait.')) ?? false;
  const columns =
    (opts.columns ?? true) &&
    rule !== undefined &&
    rule.clock.windows.length === 0 &&
    rule.reads.every((f) => COLUMN_FACTS.has(f) || f.startsWith('trait.'));
  // A rule that needs an event in its last W (engine/active.ts) matches no profile last seen W
  // or more ago: the scan does not read or parse those (most profiles, for a 7-day window).
  const within = (opts.prune ?? true) && rule !== undefined ? activeWithin(when) : undefined;
  const activeAfter = within === undefined ? undefined : Math.floor(now - within);
  const rfm = await storage.rfmBreakpoints(site.id);
  let count = 0;
  let scanned = 0;
  let partial = false;
  const sample: string[] = [];
  let after = '';
  for (;;) {
    if (scanned >= maxProfiles || clock() - started >= maxMs) {
      partial = true;
      break;
    }
    const limit = Math.min(PAGE, maxProfiles - scanned);
    const page = await storage.scanProfiles(site.id, after, limit, {
      traits,
      columns,
      activeAfter,
    });
    for (const p of page) {
      if (p.profile === null) continue; // not active within the rule's window: no match
      const known = contactOfKey(p.visitor) !== null;
      if (rule && matches(rule, p.profile, known, engine, now, { traits: p.traits, rfm })) {
        count++;
        if (sample.length < RULE_LIMITS.previewSample) sample.push(p.visitor);
      }
    }
    scanned += page.length;
    const last = page.at(-1);
    if (last === undefined || page.length < limit) break;
    after = last.visitor;
  }
  return { count, sample, scanned, partial, tookMs: Math.round(clock() - started) };
}
