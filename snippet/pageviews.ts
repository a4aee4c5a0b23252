import type { Navigation } from '../shared/events.ts';
import { arrivalCategory, utm } from './arrival.ts';
import { pageCategory } from './category.ts';
import { on } from './config.ts';
import { track, type Extra, type TrackProps } from './track.ts';

/** The URL of the last counted page view: a route change counts only when the URL differs. */
let last = '';
let timer: ReturnType<typeof setTimeout>;

const view = (nav: Navigation, extra?: Extra, props?: TrackProps): void => {
  last = location.href;
  track('page_view', { category: pageCategory(), ...props }, { nav, ...extra });
};

// Routers often replace then push the same URL, or replace without changing it, and render the new
// route (and its category meta) a moment after the URL changes: so look once things have settled.
const changed = (): void => {
  clearTimeout(timer);
  timer = setTimeout(() => location.href != last && view('spa'), 100);
};

/** `microseg.page(props?)`: a page view the app announces itself. */
export const page = (props?: TrackProps): void => view('spa', {}, props);

export const startPageviews = (): void => {
  // An email link's campaign and category belong to the view it lands on.
  view('load', { ref: document.referrer || undefined, utm }, { category: arrivalCategory || pageCategory() });
  for (const m of ['pushState', 'replaceState'] as const) {
    const original = history[m];
    history[m] = function (this: History, ...args: Parameters<History['pushState']>) {
      original.apply(this, args);
      changed();
    };
  }
  on('popstate', changed);
  on('hashchange', changed);
  // A page restored from the back/forward cache runs no script again, yet it is a new view.
  on('pageshow', (e: PageTransitionEvent) => e.persisted && view('load'));
};
