// Personalization rules in plain HTML: elements shown or hidden by `data-ms-show` / `data-ms-hide`.
// The collector sends the visitor's facts
// ready-made with the segment (`PageFacts` in shared/segment.ts): the snippet only matches them.
import { facts, root } from './personalize.ts';

/**
 * Whether the visitor matches a rule: alternatives separated by `,` (or), each a list of conditions
 * separated by spaces (and). An empty alternative matches nobody. Called once facts are known.
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

/** Applies changed facts to the page's rules. */
export const applyRules = (): void => {
  // The optional anti-flicker style hides rule-carrying elements while <html> has this class.
  root.classList.remove('ms-pending');
  showHide();
};

// Elements rendered later (SPA routes, lazy content) get their rule applied before they paint.
export const startRules = (): void =>
  new MutationObserver(showHide).observe(root, { childList: true, subtree: true });
