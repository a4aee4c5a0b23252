// What ms.js and ms.rules.js share: two files served apart, so this is their contract. The facts
// live on <html> as a plain property (not a minifier-mangled one: each file is minified on its own).

/** Elements that carry a rule: ms.js loads ms.rules.js once the page has one. */
export const RULED = '[data-ms-show],[data-ms-hide]';

/**
 * `<html>` with the facts ms.js last applied (`msf`): what the visitor is, as rule conditions
 * (`lifecycle=newbie`, `segment=camera-intent`, `camera-intent`, …); undefined until a segment is known.
 */
export const root = document.documentElement as HTMLElement & { msf?: string[] };
