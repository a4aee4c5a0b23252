/**
 * The identity part of a browser batch, read from the request before anything is stored: the
 * token (a forged one refuses the whole batch; an expired one, or a link's `t`, only skips the
 * link), the public traits and the trusted proxy's country header.
 */
import type { Context } from 'hono';
import type { CollectResponse } from '../../shared/wire.ts';
import type { Deps } from '../http/app.ts';
import type { SiteConfig } from '../config/config.ts';
import { checkToken } from '../identity/identify.ts';
import {
  countryFromHeader,
  publicPatch,
  traitPatchSchema,
  type TraitPatch,
} from '../identity/traits.ts';
import { describe } from './validate.ts';
import { failure, type Result, success } from '../result.ts';

interface BrowserIdentity {
  /** The contact a valid identify token names, and the email link it comes from. */
  id: { contact: string; grant: string } | null;
  patch: TraitPatch;
  refusedTraits: string[];
  outcome: CollectResponse['identify'];
}

export function browserIdentity(
  c: Context,
  deps: Deps,
  site: SiteConfig,
  batch: { token?: string | undefined; traits?: unknown },
  now: number,
): Result<BrowserIdentity> {
  let id: BrowserIdentity['id'] = null;
  let outcome: CollectResponse['identify'];
  if (batch.token !== undefined) {
    const checked = checkToken(deps.keys, site, batch.token, now);
    // Forged, edited or for another site: nothing of the batch is trusted or stored. Expired or
    // for another purpose: authentic, so the events are stored, but nobody is linked.
    if (!checked.ok && checked.reason !== 'expired' && checked.reason !== 'wrong_purpose') {
      return failure(checked.error, `${checked.message}; nothing of the batch was stored`);
    }
    if (checked.ok) id = checked.value;
    outcome = checked.ok
      ? { ok: true }
      : { ok: false, error: checked.error, message: checked.message };
  }
  let patch: TraitPatch = {};
  let refusedTraits: string[] = [];
  if (batch.traits !== undefined) {
    const parsed = traitPatchSchema.safeParse(batch.traits);
    if (!parsed.success) return failure('invalid_traits', describe(parsed.error, 'traits'));
    ({ patch, refused: refusedTraits } = publicPatch(site.publicTraits, parsed.data));
  }
  // After the browser's own traits: the proxy's word on the country wins.
  const country = site.countryHeader
    ? countryFromHeader(c.req.header(site.countryHeader))
    : undefined;
  if (country) patch = { ...patch, country };
  return success({ id, patch, refusedTraits, outcome });
}
