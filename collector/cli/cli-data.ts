/**
 * CLI commands that work on the collector's SQLite file directly (it may be running: WAL lets
 * both go on): `export`, `forget`, `deliveries`, `quarantine`, `rfm`. Entries of `commands` in cli.ts.
 */
import { createWriteStream, existsSync } from 'node:fs';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as NodeReadableStream } from 'node:stream/web';
import { audienceOf, unknownAudience } from '../storage/audience.ts';
import { loadSiteConfig } from '../config/env.ts';
import { isPostgresUrl, redactDbUrl } from '../config/db-url.ts';
import type { Command } from './cli.ts';
import { EXPORT_FORMATS, exportStream, type ExportFormat } from '../storage/export.ts';
import { CONTACT_ID_RULE, validContactId } from '../identity/token.ts';
import { optionsFromEnv } from '../http/server.ts';
import { MAX_PAGE, parsePageLimit } from '../http/page-limit.ts';
import type { Storage } from '../storage/contract.ts';
import { openStorage } from '../storage/open.ts';
import { runtimeRules } from '../rules/runtime.ts';
import { ID_PATTERN } from '../ingest/validate.ts';
import type { DeliveryStatus } from '../../shared/webhook.ts';
import { LIMITS } from '../../shared/limits.ts';

/** Every command's `-h, --help`. */
export const help = { type: 'boolean', short: 'h' } as const;
export const dbOption = `  --db FILE         the collector's SQLite file or postgres:// URL (MICROSEG_DB, default ./data/microseg.db)`;

/** A usage error: the message on stderr, exit code 2. */
export function fail(cmd: string, msg: string): number {
  console.error(`microseg ${cmd}: ${msg}`);
  return 2;
}

/**
 * What an empty answer says when the site has no profile in the database at all: most likely a
 * mistyped `--site` (these commands read no site config to check it against). Empty otherwise.
 */
async function siteHint(storage: Storage, site: string): Promise<string> {
  const sites = await storage.sitesWithProfiles();
  if (sites.includes(site)) return '';
  return ` (this database has no profile of site "${site}"; its sites: ${sites.join(', ') || 'none yet'})`;
}

/**
 * Runs `fn` on the collector's database: `--db`, else MICROSEG_DB. The environment is read (and
 * checked, as `serve` checks it) even when `--db` is given. A file that does not exist is refused:
 * opening it would create an empty database, and `forget` would then report a person erased, or
 * `export` zero members, from a file the collector never wrote (a command run in another folder).
 */
export async function withStorage(
  cmd: string,
  v: Record<string, unknown>,
  fn: (s: Storage) => Promise<number> | number,
): Promise<number> {
  const env = optionsFromEnv();
  const file = typeof v.db === 'string' ? v.db : env.db;
  if (!isPostgresUrl(file) && file !== ':memory:' && !existsSync(file)) {
    console.error(
      `microseg ${cmd}: no database at ${redactDbUrl(file)}: name the collector's file with --db FILE or MICROSEG_DB (serve creates it at its first start, by default ./data/microseg.db of the folder it runs in)`,
    );
    return 1;
  }
  let storage: Storage;
  try {
    storage = await openStorage(file);
  } catch (err) {
    // A PostgreSQL server that does not answer or refuses us: said with the URL's password hidden.
    console.error(
      `microseg ${cmd}: cannot open the database at ${redactDbUrl(file)}: ${(err as Error).message}`,
    );
    return 1;
  }
  try {
    return await fn(storage);
  } finally {
    await storage.close();
  }
}

export const exportCommand: Command = {
  summary: "export a segment's members as CSV or NDJSON (for an email tool's import)",
  usage: `microseg export --site S --segment NAME [--format csv|ndjson] [--out FILE] [--config FILE] [--db FILE]

NAME is a custom segment ("camera-intent") or a microsegment key, "*" matching any part
("newbie:cameras:hot", "*:cameras:*"). Columns: visitor, contact, segment, lifecycle, category,
engagement, segments, purchases, monetary, first_seen, last_seen. Streams: any size, flat memory.

Options:
  --site S          site id
  --segment NAME    custom segment name or microsegment key pattern
  --format F        csv (default) or ndjson
  --out FILE        write to FILE instead of standard output
  --config FILE     site config JSON (MICROSEG_CONFIG): a custom segment must be one of its
                    rules or one saved at runtime (/v1/rules, the dashboard)
${dbOption}
  -h, --help        this help`,
  options: {
    site: { type: 'string' },
    segment: { type: 'string' },
    format: { type: 'string' },
    out: { type: 'string' },
    config: { type: 'string' },
    db: { type: 'string' },
    help,
  },
  async run(v) {
    if (typeof v.site !== 'string') return fail('export', '--site is required');
    if (typeof v.segment !== 'string') return fail('export', '--segment is required');
    const format = (v.format ?? 'csv') as ExportFormat;
    if (!EXPORT_FORMATS.includes(format)) return fail('export', '--format is csv or ndjson');
    const audience = audienceOf(v.segment);
    return withStorage('export', v, async (storage) => {
      // A misspelt custom segment would export nobody without a word: check it against the
      // site's rules, as the API does — the config file's and those saved at runtime
      // (`/v1/rules`, the dashboard), loaded from the database as the collector loads them.
      if (audience.kind === 'custom') {
        const opts = optionsFromEnv();
        const config = loadSiteConfig(opts, typeof v.config === 'string' ? v.config : opts.config);
        const site = config.sites.get(v.site as string);
        if (!site)
          return fail(
            'export',
            `no site "${v.site}" in the site config (${[...config.sites.keys()].join(', ')}); a custom segment is checked against it: --config FILE`,
          );
        const saved = runtimeRules(storage, config);
        await saved.ready;
        saved.stop();
        const unknown = unknownAudience(site, v.segment as string, audience);
        if (unknown) return fail('export', unknown);
      }
      const members = await storage.countMembers(v.site as string, audience);
      const stream = exportStream(storage.members(v.site as string, audience), format);
      const out = typeof v.out === 'string' ? createWriteStream(v.out) : process.stdout;
      await pipeline(Readable.fromWeb(stream as NodeReadableStream<Uint8Array>), out, {
        end: out !== process.stdout,
      });
      console.error(
        `${members} members of "${v.segment}" (site ${v.site})${typeof v.out === 'string' ? ` written to ${v.out}` : ''}`,
      );
      return 0;
    });
  },
};

export const forgetCommand: Command = {
  summary: 'erase a visitor or a contact: every row of theirs in every table',
  usage: `microseg forget --site S (--visitor V | --contact C) [--db FILE]

Deletes every row of the person in every table (events, profile, traits, segment history,
webhook deliveries and cooldowns, quarantined events, links) and prints what was removed (JSON). A contact
takes its rows on every device linked to it, and nothing of another contact's (a device that
moved on to someone else keeps that person's rows).

Options:
  --site S          site id
  --visitor V       a visitor id (the snippet's anonymous id)
  --contact C       a contact id (your email tool's or CRM's)
${dbOption}
  -h, --help        this help`,
  options: {
    site: { type: 'string' },
    visitor: { type: 'string' },
    contact: { type: 'string' },
    db: { type: 'string' },
    help,
  },
  async run(v) {
    if (typeof v.site !== 'string') return fail('forget', '--site is required');
    if ((typeof v.visitor === 'string') === (typeof v.contact === 'string'))
      return fail('forget', 'give one of --visitor or --contact');
    if (typeof v.visitor === 'string' && !ID_PATTERN.test(v.visitor)) {
      return fail('forget', 'a visitor id has letters, digits, - and _ only');
    }
    if (typeof v.contact === 'string' && !validContactId(v.contact))
      return fail('forget', `a contact id has ${CONTACT_ID_RULE}`);
    return withStorage('forget', v, async (storage) => {
      const site = v.site as string;
      const { visitor, contact } = v;
      const now = Date.now();
      const res = await storage.write((tx) =>
        typeof visitor === 'string'
          ? tx.eraseVisitor(site, visitor)
          : tx.eraseContact(site, contact as string, now),
      );
      console.log(JSON.stringify(res, null, 2));
      const hint = Object.keys(res.removed).length === 0 ? await siteHint(storage, site) : '';
      if (hint) console.error(`microseg forget: nothing of this person found${hint}`);
      return 0;
    });
  },
};

const STATUSES: DeliveryStatus[] = ['pending', 'delivered', 'failed'];
const iso = (t: number | null) => (t === null ? '-' : new Date(t).toISOString());

export const deliveriesCommand: Command = {
  summary: 'list webhook deliveries (pending, delivered, failed) or replay a failed one',
  usage: `microseg deliveries [list] --site S [--status pending|delivered|failed] [--limit N] [--json]
microseg deliveries show ID --site S
microseg deliveries replay ID --site S

A replayed delivery keeps its id (receivers de-duplicate on it) and starts its attempts over;
a running collector sends it within its poll interval.

Options:
  --site S          site id
  --status X        only deliveries in this state
  --limit N         newest N (default 50, at most 1000)
  --json            one JSON object per line instead of a table
${dbOption}
  -h, --help        this help`,
  options: {
    site: { type: 'string' },
    status: { type: 'string' },
    limit: { type: 'string' },
    json: { type: 'boolean' },
    db: { type: 'string' },
    help,
  },
  async run(v, positionals) {
    const [action = 'list', id] = positionals;
    if (typeof v.site !== 'string') return fail('deliveries', '--site is required');
    const site = v.site;
    if (action === 'list') {
      const status = v.status as DeliveryStatus | undefined;
      if (status !== undefined && !STATUSES.includes(status))
        return fail('deliveries', `--status is one of ${STATUSES.join(', ')}`);
      const limit = parsePageLimit(v.limit, 50);
      if (limit === null)
        return fail('deliveries', `--limit is a whole number from 1 to ${MAX_PAGE}`);
      return withStorage('deliveries', v, async (storage) => {
        const rows = await storage.outbox.list(site, { status, limit });
        if (v.json) {
          for (const { seq: _s, ...d } of rows) console.log(JSON.stringify(d));
          return 0;
        }
        if (rows.length === 0)
          console.log(
            `no deliveries${status ? ` ${status}` : ''} for site ${site}${await siteHint(storage, site)}`,
          );
        for (const d of rows) {
          const last = d.lastStatus ?? d.lastError ?? '';
          console.log(
            `${d.id}  ${d.status.padEnd(9)} ${d.change.padEnd(5)} ${d.segment}  visitor=${d.visitor}  attempts=${d.attempts}  ${iso(d.created)}  ${last}`,
          );
        }
        return 0;
      });
    }
    if (action !== 'show' && action !== 'replay')
      return fail('deliveries', `unknown action "${action}": list, show or replay`);
    if (!id) return fail('deliveries', `${action} needs a delivery id`);
    return withStorage('deliveries', v, async (storage) => {
      const outbox = storage.outbox;
      if (action === 'replay') {
        const res = await outbox.replay(site, id, Date.now());
        if (res === 'not_found') return fail('deliveries', `no delivery "${id}" for site ${site}`);
        if (res === 'not_failed')
          return fail(
            'deliveries',
            `delivery "${id}" has not failed: only a failed delivery is replayed`,
          );
        console.log(`replaying ${id}`);
        return 0;
      }
      const d = await outbox.get(site, id);
      if (!d) return fail('deliveries', `no delivery "${id}" for site ${site}`);
      console.log(JSON.stringify(d, null, 2));
      return 0;
    });
  },
};

export const quarantineCommand: Command = {
  summary: 'list refused events kept with their reason and raw payload',
  usage: `microseg quarantine --site S [--limit N] [--before SEQ] [--json] [--db FILE]

Events the collector refused (a wrong type, a field over its limit, …) are kept, not dropped:
newest first, with the reason and the raw event (cut at ${LIMITS.quarantinePayloadBytes} bytes).

Options:
  --site S          site id
  --limit N         newest N (default 50, at most 1000)
  --before SEQ      page back: only rows older than this sequence number
  --json            one JSON object per line instead of a table
${dbOption}
  -h, --help        this help`,
  options: {
    site: { type: 'string' },
    limit: { type: 'string' },
    before: { type: 'string' },
    json: { type: 'boolean' },
    db: { type: 'string' },
    help,
  },
  async run(v) {
    if (typeof v.site !== 'string') return fail('quarantine', '--site is required');
    const limit = parsePageLimit(v.limit, 50);
    if (limit === null)
      return fail('quarantine', `--limit is a whole number from 1 to ${MAX_PAGE}`);
    const before = v.before === undefined ? undefined : Number(v.before);
    if (before !== undefined && (!Number.isInteger(before) || before < 1))
      return fail('quarantine', '--before is a sequence number');
    return withStorage('quarantine', v, async (storage) => {
      const rows = await storage.quarantined(v.site as string, limit, before);
      if (v.json) {
        for (const r of rows) console.log(JSON.stringify(r));
        return 0;
      }
      if (rows.length === 0)
        console.log(
          `no refused events for site ${v.site}${await siteHint(storage, v.site as string)}`,
        );
      for (const r of rows) {
        console.log(
          `#${r.seq}  ${iso(r.received)}  ${r.source}  ${r.error}  visitor=${r.visitor ?? '-'}  event=${r.eventId ?? '-'}\n    ${r.message}\n    ${r.payload}`,
        );
      }
      return 0;
    });
  },
};

const day = (t: number) => new Date(t).toISOString().slice(0, 10);

export const rfmCommand: Command = {
  summary: "recompute a site's RFM quintile breakpoints now (after an import)",
  usage: `microseg rfm --site S [--json] [--config FILE] [--db FILE]

The collector recomputes RFM quintiles at start and every 10 minutes; this does it now, on the
database file (safe while the collector runs: it reads the new breakpoints at its next segment
read; on PostgreSQL within 30 seconds). Under the site's segment.rfm.minCustomers customers, the fixed thresholds stay in force
and no breakpoints are kept. Prints the breakpoints: the last-purchase times, purchase counts and
totals at the 20/40/60/80% ranks of the site's customers, worst first; a customer on a
breakpoint takes the lower score (docs/segments.md).

Options:
  --site S          site id from the site config (its segment.rfm.minCustomers)
  --json            the breakpoints as one JSON object
  --config FILE     site config JSON (MICROSEG_CONFIG)
${dbOption}
  -h, --help        this help`,
  options: {
    site: { type: 'string' },
    json: { type: 'boolean' },
    config: { type: 'string' },
    db: { type: 'string' },
    help,
  },
  async run(v) {
    if (typeof v.site !== 'string') return fail('rfm', '--site is required');
    const opts = optionsFromEnv();
    const config = loadSiteConfig(opts, typeof v.config === 'string' ? v.config : opts.config);
    const site = config.sites.get(v.site);
    if (!site)
      return fail(
        'rfm',
        `no site "${v.site}" in the site config (${[...config.sites.keys()].join(', ')}): --config FILE`,
      );
    const min = site.engine.rfm.minCustomers;
    return withStorage('rfm', v, async (storage) => {
      const now = Date.now();
      const bp = await storage.write((tx) => tx.recomputeRfm(site.id, min, now));
      if (v.json) {
        console.log(JSON.stringify({ site: site.id, minCustomers: min, breakpoints: bp }));
        return 0;
      }
      if (!bp) {
        console.log(
          `site ${site.id}: fewer than ${min} customers (segment.rfm.minCustomers): the fixed thresholds stay in force`,
        );
        return 0;
      }
      console.log(`site ${site.id}: ${bp.customers} customers, breakpoints at the 20/40/60/80% ranks
  R (last purchase)  ${bp.lastPurchase.map(day).join('  ')}
  F (purchases)      ${bp.frequency.join('  ')}
  M (total value)    ${bp.monetary.join('  ')}`);
      return 0;
    });
  },
};
