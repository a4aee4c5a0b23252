/**
 * API-key endpoints for email tools and operators: segment member counts, streamed member exports,
 * webhook deliveries (list, replay) and erasure. Routes stay thin: parse, call a storage module, answer.
 */
import { Hono, type Context } from 'hono';
import type { Deps } from '../app.ts';
import { audienceOf, segmentSummaries, unknownAudience } from '../../storage/audience.ts';
import { requireApiKey, type AuthEnv } from '../auth.ts';
import type { ErasureResult, Storage } from '../../storage/contract.ts';
import type { SiteConfig } from '../../config/config.ts';
import { fail } from '../errors.ts';
import { EXPORT_FORMATS, exportStream, type ExportFormat } from '../../storage/export.ts';
import { CONTACT_ID_RULE, validContactId } from '../../identity/token.ts';
import { ID_PATTERN } from '../../ingest/validate.ts';
import { MAX_PAGE, parsePageLimit } from '../page-limit.ts';
import { requireSite, type SiteEnv } from '../site.ts';
import type { DeliveryStatus } from '../../../shared/webhook.ts';
import type { ErasureResponse } from '../../../shared/server-api.ts';

const STATUSES: DeliveryStatus[] = ['pending', 'delivered', 'failed'];

function erased(c: Context, result: ErasureResult) {
  const total = Object.values(result.removed).reduce((a, b) => a + b, 0);
  return c.json<ErasureResponse>({ ...result, total });
}

/**
 * A segment's members streamed as a CSV or NDJSON download: the answer of
 * `GET /v1/segments/:name/members`, and of the dashboard's export buttons.
 */
export function membersExport(
  c: Context,
  storage: Storage,
  site: SiteConfig,
  name: string,
  format: string,
): Response | Promise<Response> {
  if (!EXPORT_FORMATS.includes(format as ExportFormat))
    return fail(c, 400, 'invalid_format', 'format is csv or ndjson');
  const audience = audienceOf(name);
  const unknown = unknownAudience(site, name, audience);
  if (unknown) return fail(c, 404, 'unknown_segment', unknown);
  const stream = exportStream(storage.members(site.id, audience), format as ExportFormat);
  const file = `${site.id}-${name}`.replace(/[^A-Za-z0-9._-]+/g, '_');
  c.header(
    'Content-Type',
    format === 'csv' ? 'text/csv; charset=utf-8' : 'application/x-ndjson; charset=utf-8',
  );
  c.header('Content-Disposition', `attachment; filename="${file}.${format}"`);
  c.header('Cache-Control', 'no-store');
  return c.body(stream);
}

export function adminRoutes(deps: Deps) {
  const app = new Hono<AuthEnv & SiteEnv>();
  const auth = requireApiKey(deps.config);
  const withSite = requireSite(deps.config);
  const { storage } = deps;
  const outbox = storage.outbox;

  app.get('/v1/segments', auth, withSite, async (c) => {
    const { site } = c.var;
    return c.json({ site: site.id, segments: await segmentSummaries(storage, site) });
  });

  app.get('/v1/segments/:name/members', auth, withSite, (c) =>
    membersExport(c, storage, c.var.site, c.req.param('name'), c.req.query('format') ?? 'csv'),
  );

  app.get('/v1/deliveries', auth, withSite, async (c) => {
    const { site } = c.var;
    const status = c.req.query('status');
    if (status !== undefined && !STATUSES.includes(status as DeliveryStatus)) {
      return fail(c, 400, 'invalid_status', `status is one of ${STATUSES.join(', ')}`);
    }
    const limit = parsePageLimit(c.req.query('limit'), 100);
    const before = c.req.query('before') === undefined ? undefined : Number(c.req.query('before'));
    if (limit === null)
      return fail(c, 400, 'invalid_limit', `limit is a whole number from 1 to ${MAX_PAGE}`);
    if (before !== undefined && !Number.isInteger(before))
      return fail(c, 400, 'invalid_cursor', 'before is the "next" value of a previous page');
    const rows = await outbox.list(site.id, {
      status: status as DeliveryStatus | undefined,
      limit,
      before,
    });
    const next = rows.length === limit ? (rows.at(-1)?.seq ?? null) : null;
    return c.json({ site: site.id, deliveries: rows.map(({ seq: _seq, ...d }) => d), next });
  });

  app.get('/v1/deliveries/:id', auth, withSite, async (c) => {
    const { site } = c.var;
    const d = await outbox.get(site.id, c.req.param('id'));
    return d
      ? c.json(d)
      : fail(
          c,
          404,
          'unknown_delivery',
          `no delivery "${c.req.param('id')}" for site "${site.id}"`,
        );
  });

  app.post('/v1/deliveries/:id/replay', auth, withSite, async (c) => {
    const { site } = c.var;
    const id = c.req.param('id');
    const res = await outbox.replay(site.id, id, deps.now());
    if (res === 'not_found')
      return fail(c, 404, 'unknown_delivery', `no delivery "${id}" for site "${site.id}"`);
    if (res === 'not_failed')
      return fail(
        c,
        409,
        'not_failed',
        `delivery "${id}" has not failed: only a failed delivery is replayed`,
      );
    return c.json(await outbox.get(site.id, id), 202);
  });

  app.delete('/v1/visitors/:id', auth, withSite, async (c) => {
    const { site } = c.var;
    const id = c.req.param('id');
    if (!ID_PATTERN.test(id))
      return fail(c, 400, 'invalid_visitor', 'a visitor id has letters, digits, - and _ only');
    return erased(c, await storage.write((tx) => tx.eraseVisitor(site.id, id)));
  });

  app.delete('/v1/contacts/:id', auth, withSite, async (c) => {
    const { site } = c.var;
    const id = c.req.param('id');
    if (!validContactId(id))
      return fail(c, 400, 'invalid_contact', `a contact id has ${CONTACT_ID_RULE}`);
    const now = deps.now();
    return erased(c, await storage.write((tx) => tx.eraseContact(site.id, id, now)));
  });

  return app;
}
