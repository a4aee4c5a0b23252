/**
 * `GET /r?…`: the signed email-link redirect. Verifies the signature (which covers the target),
 * the identity token and the target's origin, records an `email_click` for the contact, and
 * answers 302 to the target with a fresh `ms_t`, `utm_*` and `ms_cat`. Anything wrong gets a
 * 400 page and no redirect: the collector is never an open redirect.
 */
import { Hono, type Context } from 'hono';
import type { Deps } from '../app.ts';
import { botReason } from '../../ingest/bots.ts';
import {
  ARRIVAL_TOKEN_TTL_MS,
  arrivalUrl,
  readLinkQuery,
  verifyLinkSignature,
} from '../../identity/links.ts';
import { checkTarget } from '../../identity/targets.ts';
import { issueIdentityToken, verifyIdentityToken } from '../../identity/token.ts';
import { ingestAs } from '../../identity/identify.ts';
import { contactKey } from '../../identity/token.ts';
import { DUPLICATE_FIX, entry, requestRefusedEntry } from '../../live/outcomes.ts';
import type { LiveFeed } from '../../live/feed.ts';

const LINK_FIX =
  'the link was changed, expired or not made by this collector: make email links with POST /v1/links (docs/email-links.md) and send them before they expire';

/** A refused link on the live feed: its site when the signature proved it, else every-site watchers only. */
function liveRefusal(
  live: LiveFeed,
  now: number,
  site: string | null,
  reason: string,
  detail: string,
) {
  if (live.wants(site))
    live.publish([requestRefusedEntry(now, site, 'email', null, 1, reason, detail, LINK_FIX)]);
}

const escapeHtml = (s: string) =>
  s.replace(
    /[&<>"']/g,
    (ch) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[ch] ?? ch,
  );

/** A small human page: the reader of a broken link is a person in a browser, not a program. */
function refuse(c: Context, reason: string, detail: string) {
  c.header('Cache-Control', 'no-store');
  c.header('X-Microseg-Error', reason);
  return c.html(
    `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">` +
      `<meta name="robots" content="noindex"><title>Link not valid</title></head>` +
      `<body style="font:16px/1.5 system-ui,sans-serif;max-width:32em;margin:4em auto;padding:0 1em">` +
      `<h1>This link is not valid</h1><p>${escapeHtml(detail)}</p>` +
      `<p>If it came in an email, please use the site's address directly.</p></body></html>`,
    400,
  );
}

export function redirectRoutes(deps: Deps) {
  const app = new Hono();
  const keys = deps.keys;

  app.get('/r', async (c) => {
    const now = deps.now();
    const link = readLinkQuery(new URL(c.req.url).searchParams);
    if (!link) {
      liveRefusal(
        deps.live,
        now,
        null,
        'malformed_link',
        'an email link is incomplete or was changed',
      );
      return refuse(c, 'malformed_link', 'The link is incomplete or was changed.');
    }
    const { fields, sig } = link;
    const site = deps.config.sites.get(fields.site);
    // The signature is checked before anything the link says is trusted, the site included.
    if (!site || !verifyLinkSignature(keys, fields, sig)) {
      liveRefusal(
        deps.live,
        now,
        null,
        'invalid_signature',
        "an email link's signature does not verify",
      );
      return refuse(c, 'invalid_signature', 'The link was changed or was not made by this site.');
    }
    const identity = verifyIdentityToken(keys, fields.token, site.id, now);
    if (!identity.ok) {
      liveRefusal(
        deps.live,
        now,
        site.id,
        identity.reason === 'expired' ? 'expired_link' : 'invalid_token',
        identity.reason === 'expired'
          ? 'an email link has expired'
          : "an email link's token is not valid",
      );
      return identity.reason === 'expired'
        ? refuse(c, 'expired_link', 'The link has expired.')
        : refuse(c, 'invalid_token', 'The link was changed or was not made by this site.');
    }
    // A signed link carries a link token (or a version-1 one, made before purposes).
    if (identity.purpose === 'identify') {
      liveRefusal(
        deps.live,
        now,
        site.id,
        'invalid_token',
        "an email link carries a page's identity token, not a link token",
      );
      return refuse(c, 'invalid_token', 'The link was changed or was not made by this site.');
    }
    const target = checkTarget(site, fields.to, deps.selfOrigins);
    if (!target.ok) {
      liveRefusal(
        deps.live,
        now,
        site.id,
        'target_not_allowed',
        `an email link's target is not allowed: ${target.message}`,
      );
      return refuse(
        c,
        'target_not_allowed',
        'The link points to an address this site does not allow.',
      );
    }

    // A HEAD (link checkers, mail scanners) sees where the link goes but records no click.
    if (c.req.method === 'GET') {
      const utm = { campaign: fields.campaign, medium: fields.medium, source: fields.source };
      // Replays of one link by one contact within the click window are one click: the id is the
      // link's grant and the window's number, so a replay is a duplicate the store ignores. A bot's
      // click (a mail scanner, usually first) has an id of its own and cannot hide a person's.
      const bot =
        !site.allowAutomation && botReason(c.req.header('user-agent'), undefined) !== null;
      const window = Math.floor(now / (site.identity.clickWindowHours * 3_600_000));
      const click = {
        id: `ec_${identity.grant}_${window}${bot ? '_b' : ''}`,
        type: 'email_click',
        ts: now,
        category: fields.category,
        target: target.value.href,
        utm: Object.values(utm).some((v) => v !== undefined) ? utm : undefined,
        // A mail scanner or link-preview bot that follows the link is stored flagged, out of the
        // profile, its segment and its webhooks, as on /v1/collect.
        bot,
      };
      // Redirect only after the click is committed, like every acknowledged event.
      const res = await deps.storage.write((tx) =>
        ingestAs(tx, site, { contact: identity.contact }, [click], now),
      );
      if (deps.live.wants(site.id)) {
        const events = [{ type: 'email_click', category: fields.category ?? null }];
        const visitor = contactKey(identity.contact);
        deps.live.publish([
          bot
            ? entry(
                now,
                site.id,
                'email',
                null,
                'bot',
                1,
                'user_agent',
                'an email-link click by a mail scanner or link checker (its user agent): stored flagged, out of the profile',
                null,
                { events, visitor },
              )
            : res.accepted > 0
              ? entry(
                  now,
                  site.id,
                  'email',
                  null,
                  'accepted',
                  1,
                  null,
                  "an email-link click: stored in the contact's profile",
                  null,
                  { events, visitor },
                )
              : entry(
                  now,
                  site.id,
                  'email',
                  null,
                  'duplicate',
                  1,
                  'duplicate',
                  `the same link clicked again within sites.${site.id}.identity.clickWindowHours: one click`,
                  DUPLICATE_FIX,
                  { events, visitor },
                ),
        ]);
      }
    }
    // The page's token names the same link (grant): however often the link is replayed, the
    // browsers it identifies are counted together (identity.devicesPerLink).
    const token = issueIdentityToken(keys, {
      site: site.id,
      contact: identity.contact,
      exp: now + ARRIVAL_TOKEN_TTL_MS,
      purpose: 'identify',
      grant: identity.grant,
    });
    c.header('Cache-Control', 'no-store');
    return c.redirect(arrivalUrl(target.value, token, fields), 302);
  });
  return app;
}
