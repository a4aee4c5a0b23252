/** Structured JSON logs, one line each, with a level; never secrets or raw IPs. */
export type Level = 'debug' | 'info' | 'warn' | 'error';
const ORDER: Record<Level, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export type Logger = (level: Level, msg: string, fields?: Record<string, unknown>) => void;

export function jsonLogger(
  min: Level = 'info',
  write: (line: string) => void = (l) => process.stderr.write(`${l}\n`),
): Logger {
  return (level, msg, fields) => {
    if (ORDER[level] < ORDER[min]) return;
    write(JSON.stringify({ t: new Date().toISOString(), level, msg, ...fields }));
  };
}

/** Why a site's traffic goes nowhere useful: each is logged once per site a day (`notices`). */
export type NoticeReason =
  | 'origin_not_allowed'
  | 'bot_automation'
  | 'bot_user_agent'
  | 'unknown_site'
  | 'no_category_rule';

/**
 * Logs a warning for a site and reason unless one was logged in the last day. The message is
 * made only when logged: the same refusal may come a thousand times a second.
 */
export type Notice = (
  site: string,
  reason: NoticeReason,
  message: () => string,
  fields?: Record<string, unknown>,
) => void;

const DAY_MS = 86_400_000;
/** Site and reason pairs remembered at most. */
export const NOTICE_KEYS = 1000;
/**
 * Of those, pairs of sites the config does not have: their ids come from requests, so a client
 * sending made-up ones must not use up the room of the configured sites' notices.
 */
export const UNKNOWN_SITE_KEYS = 100;

/**
 * Diagnostics where an operator would otherwise be stuck (a page on an origin the config does not
 * list, a headless browser's events kept out of segments, …): a warning with the fix in its
 * message, once per site and reason, not once per request. Memory is one small set, forgotten
 * a day after its first entry (so a problem still there is said again the next day); past
 * `max` pairs (`UNKNOWN_SITE_KEYS` of unknown sites) nothing new is logged until then.
 */
export function notices(
  log: (level: 'warn', msg: string, fields?: Record<string, unknown>) => void,
  now: () => number = Date.now,
  max = NOTICE_KEYS,
  maxUnknown = UNKNOWN_SITE_KEYS,
): Notice {
  const seen = new Set<string>();
  let unknown = 0;
  let since = 0;
  return (site, reason, message, fields) => {
    const t = now();
    if (t - since >= DAY_MS) {
      seen.clear();
      unknown = 0;
      since = t;
    }
    const key = `${site}\n${reason}`;
    if (seen.has(key) || seen.size >= max) return;
    if (reason === 'unknown_site') {
      if (unknown >= maxUnknown) return;
      unknown++;
    }
    seen.add(key);
    log('warn', message(), { site, reason, ...fields });
  };
}
