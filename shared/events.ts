/** Event types with a meaning to the segment engine; any other name is a custom event. */
export const EVENT_TYPES = [
  'page_view',
  'click',
  'screen_view',
  'add_to_cart',
  'begin_checkout',
  'purchase',
  'email_click',
] as const;

export type KnownEventType = (typeof EVENT_TYPES)[number];

/** How a page view happened: a full load, or a route change inside a single-page app. */
export type Navigation = 'load' | 'spa';
