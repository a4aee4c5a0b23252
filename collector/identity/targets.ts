/**
 * Where an email link may send a browser: an absolute http(s) URL on one of the site's origins
 * (or the collector's own, e.g. the demo). Checked when a link is made and again at `/r`, so a
 * leaked key or a changed config can never turn the collector into an open redirect.
 */
import { LIMITS } from '../../shared/limits.ts';
import type { SiteConfig } from '../config/config.ts';
import { originAllowed } from '../http/origins.ts';
import { type Failure, failure, type Result, success } from '../result.ts';

export type TargetCheck = Result<URL, Failure<'target_not_allowed'>>;

const refused = (reason: string) => failure('target_not_allowed', reason);

/**
 * Parses with WHATWG URL rules (those of browsers) and without a base, so a relative or
 * scheme-relative target never resolves against anything. Inputs that browsers "repair"
 * (backslashes, tabs, newlines, other controls) are refused rather than normalized.
 */
export function checkTarget(
  site: SiteConfig,
  raw: unknown,
  self: ReadonlySet<string>,
): TargetCheck {
  if (typeof raw !== 'string' || raw.length === 0) return refused('the target is missing');
  if (raw.length > LIMITS.urlLength)
    return refused(`the target is longer than ${LIMITS.urlLength} characters`);
  // biome-ignore lint/suspicious/noControlCharactersInRegex: refusing control characters is the point
  if (/[\u0000-\u0020\u007f\\]/.test(raw))
    return refused('the target holds spaces, control characters or backslashes');
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return refused('the target is not an absolute URL');
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:')
    return refused('the target is not an http(s) URL');
  if (url.username || url.password) return refused('the target carries a user name or password');
  if (!originAllowed(site, url.origin, self)) {
    return refused(`${url.origin} is not one of site "${site.id}"'s origins`);
  }
  return success(url);
}
