// Personalization: the segment as data-ms-* attributes on <html> (for CSS), its facts on <html>
// for the rules, and the `microseg:segment` event (for scripts). The collector sends what the page
// needs ready-made with the segment (`PageFacts` in shared/segment.ts): the snippet only applies it.
// The `data-ms-show` / `data-ms-hide` rules are a second script, ms.rules.js (rules.ts), loaded only
// by a page that has a rule-carrying element: a page without rules never pays for them.
import type { BrowserSegment } from '../shared/segment.ts';
import { beside } from './config.ts';
import { RULED, root } from './page-facts.ts';

/**
 * Loads ms.rules.js once the page has a rule-carrying element. Called at start, on each collect
 * answer and on each counted route (SPA), so elements a framework renders later are seen too.
 *
 * The file is ms.js's neighbour (its own URL, same origin and path), loaded by `import()`: the
 * browser runs a module once per page however often it is imported (no flag to keep here), sends
 * it with ms.js's CSP nonce, and caches it like any script (the collector serves it like ms.js).
 * A module is fetched with CORS: the collector allows any origin. A failed load (blocked, offline)
 * is no error the page's own monitoring should see: the rules stay as written, and the optional
 * anti-flicker style ends with its timeout.
 */
export const loadRules = (): unknown =>
  document.querySelector(RULED) && beside('ms.rules.js').catch(() => {});

/**
 * Applies a segment to the page. When its facts changed (anything a rule or a CSS selector can
 * see), fires `microseg:segment` (once per change, not on every collector answer), after the page
 * is updated. The lists are compared as strings: a fact holds no comma (it separates alternatives).
 * No segment yet (null), or one cached by an older snippet without page facts, applies nothing.
 * The facts stay on <html> (`msf`) for ms.rules.js, which listens to the event ahead of the page's
 * own listeners (on window, capture phase): the rules are applied when the event reaches them.
 */
export const personalize = (s: BrowserSegment | null): void => {
  loadRules();
  Object.assign(root.dataset, s?.dataset);
  if ('' + s?.facts != '' + root.msf) {
    root.msf = s?.facts;
    document.dispatchEvent(new CustomEvent('microseg:segment', { detail: s }));
  }
};
