/**
 * Webhooks wired to a storage: segment changes enqueue deliveries in the ingest transaction, and
 * the worker sends them. `startWebhooks` is called once per collector (server start, tests).
 */
import type { Config } from '../config/config.ts';
import type { Logger } from '../log.ts';
import type {
  Change,
  NewDelivery,
  OutboxReads,
  OutboxWrites,
  Storage,
} from '../storage/contract.ts';
import type { WebhookPayload } from '../../shared/webhook.ts';
import { contactOfKey } from '../identity/token.ts';
import { firedBy } from './config.ts';
import { startDeliveryWorker, type DeliveryWorker, type WorkerDeps } from './worker.ts';

/** A delivery with what its cooldown needs: the profile it is about and the webhook's quiet time. */
type Fired = NewDelivery & { profile: string; cooldownMs: number };

/** The outbox rows one batch's changes call for (pure but for the ids the outbox assigns). */
export function deliveriesFor(config: Config, change: Change): Fired[] {
  const site = config.sites.get(change.site);
  if (!site || site.webhooks.length === 0) return [];
  const after = { key: change.segment.segment, segments: change.segment.segments };
  const contact = contactOfKey(change.profile);
  return firedBy(site.webhooks, change.before, after, change.segment).map(
    ({ hook, change: kind }) => ({
      site: change.site,
      visitor: change.visitor,
      contact,
      profile: change.profile,
      cooldownMs: hook.cooldownMs,
      hook: hook.id,
      url: hook.url,
      segment: hook.segment,
      change: kind,
      body: (id: string) =>
        JSON.stringify({
          id,
          type: `segment.${kind}`,
          site: change.site,
          visitor: change.visitor,
          contact,
          segment: hook.segment,
          change: kind,
          at: change.at,
          profile: change.segment,
        } satisfies WebhookPayload),
    }),
  );
}

export interface Webhooks {
  outbox: OutboxReads & OutboxWrites;
  worker: DeliveryWorker;
  stop(): Promise<void>;
}

export function startWebhooks(
  storage: Storage,
  config: Config,
  opts: {
    now: () => number;
    log?: Logger;
    fetch?: typeof fetch;
    onAttempt?: WorkerDeps['onAttempt'];
  },
): Webhooks {
  const outbox = storage.outbox;
  const worker = startDeliveryWorker({
    outbox,
    policy: config.delivery,
    now: opts.now,
    ...(opts.log ? { log: opts.log } : {}),
    ...(opts.fetch ? { fetch: opts.fetch } : {}),
    ...(opts.onAttempt ? { onAttempt: opts.onAttempt } : {}),
    secretFor: (site, hook) => config.sites.get(site)?.webhooks.find((h) => h.id === hook)?.secret,
  });
  storage.onChanges(async (change, tx) => {
    // A webhook fires for a person at most once per its cooldown: no flapping (docs/triggers.md).
    const rows: Fired[] = [];
    for (const r of deliveriesFor(config, change))
      if (await tx.outbox.takeTurn(r.site, r.profile, r.hook, r.cooldownMs, change.at))
        rows.push(r);
    if (rows.length === 0) return;
    await tx.outbox.enqueue(rows, change.at);
    // Once committed: before, the worker would not see these rows (PostgreSQL commits a moment
    // later), and its outbox writes would run inside this job.
    tx.afterCommit(() => worker.wake());
  });
  return { outbox, worker, stop: () => worker.stop() };
}
