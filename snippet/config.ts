// The snippet configures itself from its own <script> tag, so installing it is one line of HTML.
// `currentScript` is only set while the script first runs, so read it once, at load.
const tag = document.currentScript as HTMLScriptElement;

/** The site id (`data-site`); without it the snippet stays inert. */
export const site = tag.getAttribute('data-site');

/** The collector's origin: `data-api`, else the origin the script was served from. */
export const api = (tag.getAttribute('data-api') || new URL(tag.src).origin).replace(/\/$/, '');
