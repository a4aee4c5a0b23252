// Both return null or '' for "no category"; track() turns that into an absent field.

/** The page's category from `<meta name="microseg:category">`, read when asked so SPA routes can change it. */
export const pageCategory = (): string | undefined =>
  (document.querySelector<HTMLMetaElement>('meta[name="microseg:category"]') || ({} as HTMLMetaElement)).content;

/** The category of an element: its own `data-ms-category` or its nearest ancestor's. */
export const elementCategory = (el: Element): string | null | undefined => {
  const c = el.closest<HTMLElement>('[data-ms-category]');
  return c && c.dataset.msCategory;
};
