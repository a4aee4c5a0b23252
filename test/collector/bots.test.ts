import { describe, expect, it } from 'vitest';
import { botReason } from '../../collector/ingest/bots.ts';

describe('bot detection', () => {
  it.each([
    ['Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)', 'user_agent'],
    ['Mozilla/5.0 (compatible; bingbot/2.0)', 'user_agent'],
    [
      'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/120.0 Safari/537.36',
      'user_agent',
    ],
    ['facebookexternalhit/1.1', 'user_agent'],
    ['curl/8.5.0', 'user_agent'],
    ['python-requests/2.31', 'user_agent'],
    [
      'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36',
      null,
    ],
    [
      'Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 Version/17.0 Mobile/15E148 Safari/604.1',
      null,
    ],
    ['Mozilla/5.0 (Macintosh; Intel Mac OS X 14.0; rv:120.0) Gecko/20100101 Firefox/120.0', null],
  ])('%s → %s', (ua, reason) => {
    expect(botReason(ua, false)).toBe(reason);
  });

  it('navigator.webdriver marks automation whatever the user agent', () => {
    expect(botReason('Mozilla/5.0 Chrome/120.0', true)).toBe('automation');
    expect(botReason(undefined, undefined)).toBeNull();
  });
});
