// Both return undefined or '' for "no category"; the collector takes that as an absent field.

/** The page's category from `<meta name="microseg:category">`, read when asked so SPA routes can change it. */
export const pageCategory = (): string | undefined =>
  document.querySelector<HTMLMetaElement>('meta[name="microseg:category"]')?.content;

/**
 * The category of an element: its own `data-ms-category` or its nearest ancestor's, `<html>` aside:
 * there the snippet writes the visitor's segment category (personalize.ts), and reading it back
 * would tag every untagged click with the segment's own category, a feedback loop.
 */
export const elementCategory = (el: Element): string | undefined =>
  el.closest<HTMLElement>('[data-ms-category]:not(html)')?.dataset.msCategory;
