// Personalization: the segment as data-ms-* attributes on <html> (for CSS) and the
// `microseg:segment` event (for scripts), and the `data-ms-show` / `data-ms-hide` rules (rules.ts). The collector sends what the page needs ready-made with the
// segment (`PageFacts` in shared/segment.ts): the snippet only applies it.
import type { BrowserSegment } from '../shared/segment.ts';
import { applyRules } from './rules.ts';

export const root = document.documentElement;
/**
 * The facts last applied: what the visitor is, as rule conditions (`lifecycle=newbie`,
 * `segment=camera-intent`, `camera-intent`, …); undefined until a segment is known.
 */
export let facts: string[] | undefined;

/**
 * Applies a segment to the page. When its facts changed (anything a rule or a CSS selector can
 * see), fires `microseg:segment` (once per change, not on every collector answer), after the page
 * is updated. The lists are compared as strings: a fact holds no comma (it separates alternatives).
 * No segment yet (null), or one cached by an older snippet without page facts, applies nothing.
 */
export const personalize = (s: BrowserSegment | null): void => {
  Object.assign(root.dataset, s?.dataset);
  if ('' + s?.facts !== '' + facts) {
    facts = s?.facts;
    applyRules();
    document.dispatchEvent(new CustomEvent('microseg:segment', { detail: s }));
  }
};
