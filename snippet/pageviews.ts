import type { Navigation } from '../shared/events.ts';
import { pageCategory } from './category.ts';
import { on } from './config.ts';
import { loadRules } from './personalize.ts';
import { record, type TrackProps } from './track.ts';

/** The URL of the last counted page view: a route change counts only when the URL differs. */
let last = '';
let timer: ReturnType<typeof setTimeout>;

/**
 * Records a page view with the page's meta category (a `category` prop overrides it). As
 * `microseg.page(props?)` it is a page view the app announces itself.
 */
export const page = (props?: TrackProps, nav: Navigation = 'spa', ref?: string): void => {
  record({ n: nav, r: ref, p: { category: pageCategory(), ...props } });
  // Counted once recorded, not before: Firefox closing a tab may stop the pagehide handler midway
  // (test/e2e/leave.test.ts), and the visibilitychange after it must then record this view still.
  last = location.href;
  // The route may have brought the page's first rule-carrying elements.
  loadRules();
};

/** Counts the route the page shows now, unless it was counted already. */
export const checkRoute = (): void => {
  location.href != last && page();
};

// Routers often replace then push the same URL, or replace without changing it, and render the new
// route (and its category meta) a moment after the URL changes: so look once things have settled.
const changed = (): void => {
  clearTimeout(timer);
  timer = setTimeout(checkRoute, 100);
};

export const startPageviews = (): void => {
  // An email link's `utm_*` and `ms_cat` reach the collector in this view's `url` (read after
  // cleanUrl); no referrer is '', which the collector takes as absent.
  page({}, 'load', document.referrer);
  (['pushState', 'replaceState'] as const).forEach((m) => {
    const original = history[m];
    history[m] = (...args: Parameters<History['pushState']>) => {
      original.apply(history, args);
      changed();
    };
  });
  on('popstate', changed);
  on('hashchange', changed);
  // A page restored from the back/forward cache runs no script again, yet it is a new view.
  on('pageshow', (e: PageTransitionEvent) => e.persisted && page({}, 'load'));
};
