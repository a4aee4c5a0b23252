/**
 * Bot and automation detection from what a request carries: the user agent and the page's
 * own signal (`navigator.webdriver`, sent by the snippet). Cheap, and deliberately simple:
 * well-behaved crawlers announce themselves; headless browsers usually do too.
 */
const BOT_UA =
  /bot\b|crawl|spider|slurp|bingpreview|mediapartners|facebookexternalhit|embedly|quora link preview|whatsapp|telegrambot|discordbot|headlesschrome|phantomjs|puppeteer|playwright|selenium|lighthouse|pagespeed|gtmetrix|pingdom|uptimerobot|statuscake|curl\/|wget\/|python-requests|python-urllib|httpclient|okhttp|go-http-client|java\/|libwww|scrapy|node-fetch|axios\//i;

export type BotReason = 'user_agent' | 'automation' | null;

export function botReason(
  userAgent: string | undefined,
  webdriver: boolean | undefined,
): BotReason {
  if (webdriver) return 'automation';
  if (userAgent && BOT_UA.test(userAgent)) return 'user_agent';
  return null;
}

/** The warning for a site whose events are stored flagged as a bot, with the fix. */
export function botNotice(site: string, reason: 'user_agent' | 'automation'): string {
  const who =
    reason === 'automation'
      ? 'a page driven by automation (navigator.webdriver: a headless browser, Playwright, Selenium, WebDriver)'
      : 'a client whose user agent names a crawler, a headless browser or an HTTP library';
  return `site "${site}": ${who} sent events; they are stored flagged (bot: ${reason}) and kept out of profiles and segments. To count such traffic like people (a test or demo site), set sites.${site}.allowAutomation: true`;
}
