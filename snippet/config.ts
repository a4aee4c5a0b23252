// The snippet configures itself from its own <script> tag, so installing it is one line of HTML.
// `currentScript` is only set while the script first runs, so read it once, at load.
export const tag = document.currentScript as HTMLScriptElement;
/** Its settings: `data-site`, `data-api`, `data-consent`. */
const data = tag.dataset;

/**
 * Listens on window in the capture phase: it sees the window's own events and, first of all, every
 * event of the document (even one whose handlers stop propagation, or that does not bubble).
 */
export const on = <E extends Event>(type: string, f: (e: E) => unknown): void =>
  addEventListener(type, f as EventListener, true);

/** The site id (`data-site`); without it the snippet stays inert. */
export const site = data.site;

/**
 * The collector's endpoints, e.g. `endpoint('v1/collect')`: relative to `data-api` (an origin, or a base
 * URL ending in `/`), else to the script's own URL, so `/ms.js` served by the collector needs no setting.
 */
export const endpoint = (path: string): URL => new URL(path, data.api || tag.src);

/**
 * Do-Not-Track or Global Privacy Control is on and the site does not state consent (`data-consent`):
 * then the snippet sends and stores nothing.
 */
export const dnt =
  data.consent == null &&
  ((navigator as { globalPrivacyControl?: boolean }).globalPrivacyControl ||
    // '1' == 1: the loose comparison writes no quotes.
    (navigator as { doNotTrack: unknown }).doNotTrack == 1);

/** Cookie mode (`data-cookie`): the visitor id also lives in a first-party cookie (cookie.ts). */
export const cookieMode = data.cookie != null;

/**
 * Imports a script of the snippet that is a module (ms.rules.js, ms.cookie.js) from beside ms.js:
 * its own URL with the file name changed. `import()` takes a URL object as well as a string (it
 * converts its argument to a string, as the spec says): that saves the conversion's bytes.
 */
export const beside = <M>(file: string): Promise<M> =>
  import(new URL(file, tag.src) as unknown as string);
