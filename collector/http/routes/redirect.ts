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
    if (!link) return refuse(c, 'malformed_link', 'The link is incomplete or was changed.');
    const { fields, sig } = link;
    const site = deps.config.sites.get(fields.site);
    // The signature is checked before anything the link says is trusted, the site included.
    if (!site || !verifyLinkSignature(keys, fields, sig)) {
      return refuse(c, 'invalid_signature', 'The link was changed or was not made by this site.');
    }
    const identity = verifyIdentityToken(keys, fields.token, site.id, now);
    if (!identity.ok) {
      return identity.reason === 'expired'
        ? refuse(c, 'expired_link', 'The link has expired.')
        : refuse(c, 'invalid_token', 'The link was changed or was not made by this site.');
    }
    // A signed link carries a link token (or a version-1 one, made before purposes).
    if (identity.purpose === 'identify') {
      return refuse(c, 'invalid_token', 'The link was changed or was not made by this site.');
    }
    const target = checkTarget(site, fields.to, deps.selfOrigins);
    if (!target.ok)
      return refuse(
        c,
        'target_not_allowed',
        'The link points to an address this site does not allow.',
      );

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
      await deps.storage.write((tx) =>
        ingestAs(tx, site, { contact: identity.contact }, [click], now),
      );
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
