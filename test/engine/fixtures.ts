/** Engine test fixtures: a fixed clock, a config builder and a profile built from events. */
import {
  applyEvent,
  DEFAULT_ENGINE,
  emptyProfile,
  type EngineConfig,
  type EngineEvent,
  type Profile,
} from '../../collector/engine/index.ts';
import { parseConfig } from '../../collector/config/config.ts';

export const T0 = Date.UTC(2026, 10, 1, 12, 0, 0);
export const MIN = 60_000;
export const HOUR = 3_600_000;
export const DAY = 86_400_000;

export function engine(over: Partial<EngineConfig> = {}): EngineConfig {
  return { ...DEFAULT_ENGINE, ...over };
}

/** An engine config with custom rules, compiled like the site config does it. */
export function withRules(
  rules: Record<string, unknown>,
  segment: Record<string, unknown> = {},
): EngineConfig {
  const wrapped = Object.fromEntries(Object.entries(rules).map(([k, when]) => [k, { when }]));
  return parseConfig({ sites: { s: { rules: wrapped, segment } } }).sites.get('s')!.engine;
}

let n = 0;
export function e(over: Partial<EngineEvent> & { ts: number }): EngineEvent {
  return { type: 'page_view', id: `x${++n}`, ...over };
}

export function build(events: EngineEvent[], config: EngineConfig = engine()): Profile {
  return events.reduce((p, ev) => applyEvent(p, ev, config), emptyProfile(events[0]?.ts ?? T0));
}

export const subject = { site: 's', visitor: 'v', known: false };
