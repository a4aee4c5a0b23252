// Personalization in plain HTML: the segment as data-ms-* attributes on <html> (for CSS), and
// elements shown or hidden by `data-ms-show` / `data-ms-hide` rules. The collector sends both
// ready-made with the segment (`PageFacts` in shared/segment.ts): the snippet only applies them.
import type { BrowserSegment } from '../shared/segment.ts';

const root = document.documentElement;
/** What the visitor is, as rule conditions: `lifecycle=newbie`, `segment=camera-intent`, `camera-intent`, … */
let facts: string[] | undefined;

/**
 * Whether the visitor matches a rule: alternatives separated by `,` (or), each a list of conditions
 * separated by spaces (and). An empty alternative matches nobody.
 */
const matches = (rule: string): boolean =>
  rule.split(',').some((alt) => alt.match(/\S+/g)?.every((c) => facts!.includes(c)));

/** Shows and hides rule-carrying elements; runs on each change and whenever elements are added. */
const showHide = (): void => {
  if (facts)
    document.querySelectorAll<HTMLElement>('[data-ms-show],[data-ms-hide]').forEach((el) => {
      const { msShow, msHide } = el.dataset;
      el.hidden = ((msShow && !matches(msShow)) || (msHide && matches(msHide))) as boolean;
    });
};

/**
 * Applies a segment to the page. When its facts changed (anything a rule or a CSS selector can
 * see), fires `microseg:segment` (once per change, not on every collector answer), after the page
 * is updated. The lists are compared as strings: a fact holds no comma (it separates alternatives).
 */
export const personalize = (s: BrowserSegment): void => {
  Object.assign(root.dataset, s.dataset);
  if ('' + s.facts != '' + facts) {
    facts = s.facts;
    // The optional anti-flicker style hides rule-carrying elements while <html> has this class.
    root.classList.remove('ms-pending');
    showHide();
    document.dispatchEvent(new CustomEvent('microseg:segment', { detail: s }));
  }
};

// Elements rendered later (SPA routes, lazy content) get their rule applied before they paint.
export const startPersonalize = (): void =>
  new MutationObserver(showHide).observe(root, { childList: true, subtree: true });
