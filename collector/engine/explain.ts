/**
 * What a visitor's segment was evaluated from, for the person view (`GET /v1/visitors/:id`):
 * the window log counted over the spans the engine itself uses. Pure, like the rest of the engine.
 */
import type { WindowCounts } from '../../shared/stats.ts';
import { DAY, type EngineConfig } from './config.ts';
import type { Profile } from './profile.ts';

/**
 * Window counts over the engine's spans (the hot test's `hotDays`, intent's `intentDays`, the whole
 * log's `windowDays`), each once, shortest first. "Within N days" is strictly younger, as in
 * evaluate.ts; an entry ahead of `now` (a client clock ahead) is not counted yet.
 */
export function windowCounts(profile: Profile, config: EngineConfig, now: number): WindowCounts[] {
  const spans = [...new Set([config.hotDays, config.intentDays, config.windowDays])].sort(
    (a, b) => a - b,
  );
  return spans.map((days) => {
    const from = now - days * DAY;
    const out: WindowCounts = { days, events: 0, byType: {}, byCategory: {} };
    for (const [t, type, category] of profile.window) {
      if (t > now || t <= from) continue;
      out.events++;
      out.byType[type] = (out.byType[type] ?? 0) + 1;
      if (category) out.byCategory[category] = (out.byCategory[category] ?? 0) + 1;
    }
    return out;
  });
}
