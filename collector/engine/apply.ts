/** The write path: fold one event into a profile. Pure: no I/O, no clock. */
import { DAY, type EngineConfig } from './config.ts';
import { addWeight, boundScores, decayRate, setOwn } from './affinity.ts';
import {
  upgradeProfile,
  type EngineEvent,
  type Profile,
  type Purchases,
  type WindowEntry,
} from './profile.ts';
import type { PropValue } from '../../shared/wire.ts';
import { addTouch, touchKind } from './touches.ts';
import { must } from '../../shared/must.ts';

export function weightOf(type: string, config: EngineConfig): number {
  const weight = Object.hasOwn(config.weights, type) ? config.weights[type] : undefined;
  return weight ?? config.defaultWeight;
}

/** Returns a new profile with `event` applied; `profile` is left untouched. */
export function applyEvent(profile: Profile, event: EngineEvent, config: EngineConfig): Profile {
  const p = upgradeProfile(profile);
  const t = event.ts;
  const category = event.category || null;
  const lambda = decayRate(config);
  let scores = p.scores;
  if (category) {
    scores = { ...scores };
    setOwn(
      scores,
      category,
      addWeight(
        Object.hasOwn(scores, category) ? scores[category] : undefined,
        weightOf(event.type, config),
        t,
        lambda,
      ),
    );
    scores = boundScores(scores, config.maxCategories, t, lambda);
  }
  const lastSeen = p.count === 0 ? t : Math.max(p.lastSeen, t);
  const kind = touchKind(event);
  const out: Profile = {
    ...p,
    firstSeen: p.count === 0 ? t : Math.min(p.firstSeen, t),
    lastSeen,
    count: p.count + 1,
    scores,
    window: addToWindow(p.window, windowEntry(event, config), config),
    purchases:
      event.type === 'purchase'
        ? addPurchase(p.purchases, t, event.value ?? 0, config)
        : p.purchases,
  };
  // Only a profile that has touches carries the field (most never do: no bytes for them).
  if (kind !== 0 || p.touches) {
    const touches = addTouch(p.touches, kind === 0 ? null : [t, kind], lastSeen, config);
    if (touches) out.touches = touches;
    else delete out.touches;
  }
  return out;
}

/** The compact log entry of an event: value and the props rules read only when present. */
function windowEntry(event: EngineEvent, config: EngineConfig): WindowEntry {
  const entry: WindowEntry = [event.ts, event.type, event.category || null, event.id ?? null];
  let props: Record<string, PropValue> | undefined;
  if (event.props && config.windowProps.length > 0) {
    for (const k of config.windowProps) {
      const v = Object.hasOwn(event.props, k) ? event.props[k] : undefined;
      if (v === undefined) continue;
      props ??= {};
      setOwn(props, k, v);
    }
  }
  const value = typeof event.value === 'number' ? event.value : null;
  if (value !== null || props) entry.push(value);
  if (props) entry.push(props);
  return entry;
}

function addPurchase(p: Purchases, t: number, value: number, config: EngineConfig): Purchases {
  const latest = p.last === null || t >= p.last;
  const highEnd = config.highEndValue !== null && value >= config.highEndValue;
  return {
    n: p.n + 1,
    total: p.total + value,
    first: p.first === null ? t : Math.min(p.first, t),
    last: latest ? t : p.last,
    lastValue: latest ? value : p.lastValue,
    highEndAt: highEnd ? Math.max(p.highEndAt ?? t, t) : p.highEndAt,
  };
}

/** Inserts in time order, then trims to the window length and the entry cap. */
export function addToWindow(
  window: WindowEntry[],
  entry: WindowEntry,
  config: EngineConfig,
): WindowEntry[] {
  const out = window.slice();
  let i = out.length;
  while (i > 0 && must(out[i - 1], 'window entry')[0] > entry[0]) i--;
  out.splice(i, 0, entry);
  return trimWindow(out, config);
}

/**
 * Drops entries at or before `newest − windowDays` (no window a rule may use reaches them),
 * then the oldest beyond `windowCap`. Mutation-free for the caller: returns a slice.
 */
export function trimWindow(window: WindowEntry[], config: EngineConfig): WindowEntry[] {
  const last = window.at(-1);
  if (last === undefined) return window;
  const newest = last[0];
  const horizon = newest - config.windowDays * DAY;
  let drop = 0;
  while (drop < window.length && must(window[drop], 'window entry')[0] <= horizon) drop++;
  drop = Math.max(drop, window.length - config.windowCap);
  return drop > 0 ? window.slice(drop) : window;
}
