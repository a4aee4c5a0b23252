/** The read path: profile + config + now → Segment. Pure arithmetic over one profile. */
import { MIXED, segmentKey, type Engagement, type Lifecycle, type Segment } from '../../shared/segment.ts';
import { DAY, type EngineConfig } from './config.ts';
import { decayRate, shares } from './affinity.ts';
import type { Profile, WindowEntry } from './profile.ts';

/** Who the segment is for; the engine itself knows nothing of ids. */
export interface Subject {
  site: string;
  visitor: string;
  known: boolean;
}

/** Events in `window` matching `match` with time in (now − ms, now]. */
export function countWithin(window: WindowEntry[], now: number, ms: number, match: (e: WindowEntry) => boolean): number {
  const from = now - ms;
  let n = 0;
  for (let i = window.length - 1; i >= 0; i--) {
    const e = window[i]!;
    if (e[0] > now) continue;
    if (e[0] <= from) break;
    if (match(e)) n++;
  }
  return n;
}

export function dominantCategory(affinity: Record<string, number>, config: EngineConfig): string | null {
  const entries = Object.entries(affinity);
  if (entries.length === 0) return null;
  const [top, share] = entries[0]!;
  return share >= config.dominantShare ? top : MIXED;
}

export function engagementOf(profile: Profile, top: string | null, config: EngineConfig, now: number): Engagement {
  const idle = now - profile.lastSeen;
  if (top && countWithin(profile.window, now, config.hotDays * DAY, (e) => e[2] === top) >= config.hotEvents) return 'hot';
  if (idle <= config.activeDays * DAY) return 'active';
  if (idle <= config.warmDays * DAY) return 'warm';
  return 'cold';
}

export function lifecycleOf(profile: Profile, config: EngineConfig, now: number): Lifecycle {
  return now - profile.firstSeen <= config.newbieDays * DAY ? 'newbie' : 'prospect';
}

export function evaluate(profile: Profile, subject: Subject, config: EngineConfig, now: number): Segment {
  const affinity = shares(profile.scores, now, decayRate(config));
  const category = dominantCategory(affinity, config);
  // The hot test looks at the top category even when no category dominates.
  const top = Object.keys(affinity)[0] ?? null;
  const engagement = engagementOf(profile, top, config, now);
  const lifecycle = lifecycleOf(profile, config, now);
  return {
    site: subject.site,
    visitor: subject.visitor,
    known: subject.known,
    segment: segmentKey(lifecycle, category, engagement),
    lifecycle,
    category,
    engagement,
    affinity,
    cooldown: false,
    rfm: null,
    intent: engagement === 'hot' ? 'moderately_likely' : 'least_likely',
    segments: [],
    updated: profile.lastSeen,
  };
}
