/** The write path: fold one event into a profile. Pure: no I/O, no clock. */
import { DAY, type EngineConfig } from './config.ts';
import { addWeight, decayRate } from './affinity.ts';
import type { EngineEvent, Profile, WindowEntry } from './profile.ts';

export function weightOf(type: string, config: EngineConfig): number {
  return config.weights[type] ?? config.defaultWeight;
}

/** Returns a new profile with `event` applied; `profile` is left untouched. */
export function applyEvent(profile: Profile, event: EngineEvent, config: EngineConfig): Profile {
  const t = event.ts;
  const category = event.category || null;
  const scores = { ...profile.scores };
  if (category) scores[category] = addWeight(scores[category], weightOf(event.type, config), t, decayRate(config));
  return {
    ...profile,
    firstSeen: Math.min(profile.firstSeen, t),
    lastSeen: Math.max(profile.lastSeen, t),
    count: profile.count + 1,
    scores,
    window: addToWindow(profile.window, [t, event.type, category], config),
  };
}

/** Inserts in time order, then trims to the window length and the entry cap. */
export function addToWindow(window: WindowEntry[], entry: WindowEntry, config: EngineConfig): WindowEntry[] {
  const out = window.slice();
  let i = out.length;
  while (i > 0 && out[i - 1]![0] > entry[0]) i--;
  out.splice(i, 0, entry);
  const newest = out[out.length - 1]![0];
  const horizon = newest - config.windowDays * DAY;
  let drop = 0;
  while (drop < out.length && out[drop]![0] <= horizon) drop++;
  drop = Math.max(drop, out.length - config.windowCap);
  return drop > 0 ? out.slice(drop) : out;
}
