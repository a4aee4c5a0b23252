// ms.rules.js: personalization rules in plain HTML, elements shown or hidden by `data-ms-show` /
// `data-ms-hide`. ms.js loads it when the page has such an element (personalize.ts). It reads the
// facts ms.js applied (`msf` on <html>: the collector sends them ready-made with the segment,
// `PageFacts` in shared/segment.ts), and applies the rules now, on each `microseg:segment`, and to
// elements added later. Alone on a page without ms.js it does nothing: there are no facts.
import { RULED, root } from './page-facts.ts';

/**
 * Whether the visitor matches a rule: alternatives separated by `,` (or), each a list of conditions
 * separated by spaces (and). An empty alternative matches nobody.
 */
const matches = (rule: string, facts: string[]): boolean =>
  rule.split(',').some((alt) => alt.match(/\S+/g)?.every((c) => facts.includes(c)));

/**
 * Shows and hides rule-carrying elements, once facts are known, and ends the optional anti-flicker
 * style, which hides them while <html> has `ms-pending` (docs/snippet.md).
 */
const showHide = (): void => {
  const facts = root.msf;
  if (facts) {
    root.classList.remove('ms-pending');
    document.querySelectorAll<HTMLElement>(RULED).forEach((el) => {
      const { msShow, msHide } = el.dataset;
      el.hidden = ((msShow && !matches(msShow, facts)) ||
        (msHide && matches(msHide, facts))) as boolean;
    });
  }
};

showHide();
// On window in the capture phase: before the page's own listeners on document, so that the rules
// are applied when the event reaches them (as the docs promise).
addEventListener('microseg:segment', showHide, true);
// Elements rendered later (SPA routes, lazy content) get their rule applied before they paint.
new MutationObserver(showHide).observe(root, { childList: true, subtree: true });
