// Build-time switches, set by esbuild `define` in build.mjs (as Plausible's tracker has them): a
// feature switched off is dead code, and the minifier leaves it out of that bundle.

/**
 * `data-ms-show` / `data-ms-hide` rules (rules.ts): in `ms.rules.js`, not in `ms.js`. Most pages
 * personalize from script (`segment()`, the `microseg:segment` event, the `<html>` attributes);
 * only pages with rules in their HTML pay for the rule engine.
 */
declare const RULES: boolean;
